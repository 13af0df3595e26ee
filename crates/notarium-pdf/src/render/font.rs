//! The page font: loaded once per process (a CJK font is megabytes and takes
//! tens of milliseconds to parse), measured for layout, subset at save time
//! by printpdf so that the PDF holds only the glyphs used.

use crate::PdfError;
use printpdf::ParsedFont;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

/// WenQuanYi Micro Hei 0.2.0-beta (Apache-2.0, see fonts/LICENSE-wqy-microhei.txt).
#[cfg(feature = "bundled-font")]
const BUNDLED_FONT: &[u8] = include_bytes!("../../fonts/wqy-microhei.ttc");

/// Where a font comes from; files are re-read when they change.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum FontKey {
    #[cfg_attr(not(feature = "bundled-font"), allow(dead_code))]
    Bundled(usize),
    File {
        path: PathBuf,
        index: usize,
        len: u64,
        modified: Option<SystemTime>,
    },
}

type Cache = Mutex<HashMap<FontKey, Arc<PageFont>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Cache::default)
}

/// A parsed font with what the layout needs.
#[derive(Debug)]
pub(crate) struct PageFont {
    pub parsed: ParsedFont,
    units_per_em: f32,
    /// The glyph drawn for characters the font lacks.
    fallback: char,
}

impl PageFont {
    /// The font configured by a template: `path` (relative to `base_dir`),
    /// or the bundled font when `path` is empty.
    pub(super) fn load(
        path: &str,
        index: usize,
        base_dir: Option<&Path>,
    ) -> Result<Arc<Self>, PdfError> {
        let key = if path.is_empty() {
            bundled_key(index)?
        } else {
            let p = match base_dir {
                Some(dir) => dir.join(path),
                None => PathBuf::from(path),
            };
            let meta = std::fs::metadata(&p).map_err(|e| PdfError::Io {
                path: p.display().to_string(),
                source: e,
            })?;
            FontKey::File {
                path: p,
                index,
                len: meta.len(),
                modified: meta.modified().ok(),
            }
        };
        if let Some(hit) = cache().lock().expect("font cache").get(&key) {
            return Ok(hit.clone());
        }
        let font = Arc::new(Self::parse(&key)?);
        let mut c = cache().lock().expect("font cache");
        if c.len() >= 8 {
            c.clear(); // a long-running server whose operator keeps editing fonts
        }
        c.insert(key, font.clone());
        Ok(font)
    }

    fn parse(key: &FontKey) -> Result<Self, PdfError> {
        let (bytes, index, what): (std::borrow::Cow<'_, [u8]>, usize, String) = match key {
            #[cfg(feature = "bundled-font")]
            FontKey::Bundled(i) => (BUNDLED_FONT.into(), *i, "the bundled font".into()),
            #[cfg(not(feature = "bundled-font"))]
            FontKey::Bundled(_) => unreachable!("no bundled font key without the feature"),
            FontKey::File { path, index, .. } => {
                let bytes = std::fs::read(path).map_err(|e| PdfError::Io {
                    path: path.display().to_string(),
                    source: e,
                })?;
                (bytes.into(), *index, path.display().to_string())
            }
        };
        let mut warnings = Vec::new();
        let parsed = ParsedFont::from_bytes(&bytes, index, &mut warnings).ok_or_else(|| {
            PdfError::Font(format!(
                "{what} (face {index}) is not a TrueType/OpenType font printpdf can read"
            ))
        })?;
        let units_per_em = f32::from(parsed.pdf_font_metrics.units_per_em.max(1));
        // A CJK certificate font must draw the title; check with a few characters.
        for c in ['电', '证', 'A', '0'] {
            if parsed.lookup_glyph_index(c as u32).is_none() {
                return Err(PdfError::Font(format!(
                    "{what} has no glyph for '{c}': the certificate needs a font with Chinese and Latin glyphs"
                )));
            }
        }
        let fallback = ['\u{25A1}', '?']
            .into_iter()
            .find(|c| parsed.lookup_glyph_index(*c as u32).is_some())
            .unwrap_or('?');
        Ok(PageFont {
            parsed,
            units_per_em,
            fallback,
        })
    }

    /// `text` with every character the font cannot draw replaced (control
    /// characters by a space, others by a box), so that no glyph is missing.
    pub(super) fn drawable(&self, text: &str) -> String {
        text.chars()
            .map(|c| {
                if c.is_control() {
                    ' '
                } else if self.parsed.lookup_glyph_index(c as u32).is_some() {
                    c
                } else {
                    self.fallback
                }
            })
            .collect()
    }

    /// Advance width of one character at `size` points, in points.
    pub(super) fn char_width(&self, c: char, size: f32) -> f32 {
        let gid = self.parsed.lookup_glyph_index(c as u32).unwrap_or(0);
        f32::from(self.parsed.get_horizontal_advance(gid)) * size / self.units_per_em
    }

    /// Advance width of `text` at `size` points, in points.
    pub(super) fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.char_width(c, size)).sum()
    }
}

#[cfg(feature = "bundled-font")]
fn bundled_key(index: usize) -> Result<FontKey, PdfError> {
    Ok(FontKey::Bundled(index))
}

#[cfg(not(feature = "bundled-font"))]
fn bundled_key(_index: usize) -> Result<FontKey, PdfError> {
    Err(PdfError::Font(
        "no font configured: set [font] path in the template to a font with Chinese glyphs \
         (for example /usr/share/fonts/truetype/wqy/wqy-microhei.ttc from Debian's \
         fonts-wqy-microhei), or build notarium-pdf with the bundled-font feature"
            .into(),
    ))
}
