//! A thin drawing layer over printpdf operations: millimetres from the
//! top-left corner, one font, measured text.

use super::font::PageFont;
use super::template::Rgb;
use printpdf::{
    Color, FontId, Line, LinePoint, Mm, Op, PaintMode, PdfFontHandle, Point, Pt, Rect, TextItem,
    TextRenderingMode,
};

pub(crate) const PAGE_W_MM: f32 = 210.0;
pub(crate) const PAGE_H_MM: f32 = 297.0;

pub(crate) fn pt(mm: f32) -> Pt {
    Mm(mm).into_pt()
}

pub(crate) fn mm_of_pt(p: f32) -> f32 {
    p * 25.4 / 72.0
}

fn color(c: Rgb) -> Color {
    let [r, g, b] = c.0;
    Color::Rgb(printpdf::Rgb {
        r: f32::from(r) / 255.0,
        g: f32::from(g) / 255.0,
        b: f32::from(b) / 255.0,
        icc_profile: None,
    })
}

fn point(x_mm: f32, y_mm_from_top: f32) -> Point {
    Point {
        x: pt(x_mm),
        y: pt(PAGE_H_MM - y_mm_from_top),
    }
}

/// Text style: size in points, colour, and whether to embolden it (the
/// font has one weight; bold is drawn as fill plus a thin stroke).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Style {
    pub size: f32,
    pub color: Rgb,
    pub bold: bool,
}

impl Style {
    pub(super) fn new(size: f32, color: Rgb) -> Self {
        Style {
            size,
            color,
            bold: false,
        }
    }
    pub(super) fn bold(self) -> Self {
        Style { bold: true, ..self }
    }
}

pub(crate) struct Canvas<'a> {
    pub ops: Vec<Op>,
    pub font: &'a PageFont,
    font_id: FontId,
}

impl<'a> Canvas<'a> {
    pub(super) fn new(font: &'a PageFont, font_id: FontId) -> Self {
        Canvas {
            ops: Vec::new(),
            font,
            font_id,
        }
    }

    /// Width of `text` in millimetres.
    pub(super) fn width(&self, text: &str, size: f32) -> f32 {
        mm_of_pt(self.font.width(text, size))
    }

    /// Draws `text` with its baseline at `y` (from the top), starting at `x`;
    /// returns the x where it ends.
    pub(super) fn text(&mut self, x: f32, y: f32, style: Style, text: &str) -> f32 {
        let text = self.font.drawable(text);
        if text.is_empty() {
            return x;
        }
        let end = x + self.width(&text, style.size);
        self.ops.push(Op::StartTextSection);
        self.ops.push(Op::SetFont {
            font: PdfFontHandle::External(self.font_id.clone()),
            size: Pt(style.size),
        });
        self.ops.push(Op::SetFillColor {
            col: color(style.color),
        });
        if style.bold {
            self.ops.push(Op::SetOutlineColor {
                col: color(style.color),
            });
            self.ops.push(Op::SetOutlineThickness {
                pt: Pt(style.size / 30.0),
            });
            self.ops.push(Op::SetTextRenderingMode {
                mode: TextRenderingMode::FillStroke,
            });
        }
        self.ops.push(Op::SetTextCursor { pos: point(x, y) });
        self.ops.push(Op::ShowText {
            items: vec![TextItem::Text(text)],
        });
        if style.bold {
            self.ops.push(Op::SetTextRenderingMode {
                mode: TextRenderingMode::Fill,
            });
        }
        self.ops.push(Op::EndTextSection);
        end
    }

    /// Draws `text` centred on `cx`.
    pub(super) fn text_centered(&mut self, cx: f32, y: f32, style: Style, text: &str) {
        let w = self.width(&self.font.drawable(text), style.size);
        self.text(cx - w / 2.0, y, style, text);
    }

    pub(super) fn line(
        &mut self,
        (x1, y1): (f32, f32),
        (x2, y2): (f32, f32),
        width_pt: f32,
        c: Rgb,
    ) {
        self.ops.push(Op::SetOutlineColor { col: color(c) });
        self.ops.push(Op::SetOutlineThickness { pt: Pt(width_pt) });
        self.ops.push(Op::DrawLine {
            line: Line {
                points: vec![
                    LinePoint {
                        p: point(x1, y1),
                        bezier: false,
                    },
                    LinePoint {
                        p: point(x2, y2),
                        bezier: false,
                    },
                ],
                is_closed: false,
            },
        });
    }

    /// A rectangle with its top-left corner at (`x`, `y`).
    pub(super) fn rect(
        &mut self,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: Option<Rgb>,
        stroke: Option<(f32, Rgb)>,
    ) {
        let mode = match (fill, stroke) {
            (Some(_), Some(_)) => PaintMode::FillStroke,
            (Some(_), None) => PaintMode::Fill,
            (None, Some(_)) => PaintMode::Stroke,
            (None, None) => return,
        };
        if let Some(f) = fill {
            self.ops.push(Op::SetFillColor { col: color(f) });
        }
        if let Some((width, c)) = stroke {
            self.ops.push(Op::SetOutlineColor { col: color(c) });
            self.ops.push(Op::SetOutlineThickness { pt: Pt(width) });
        }
        self.ops.push(Op::DrawRectangle {
            rectangle: Rect {
                x: pt(x),
                y: pt(PAGE_H_MM - y - h),
                width: pt(w),
                height: pt(h),
                mode: Some(mode),
                winding_order: None,
            },
        });
    }

    /// Breaks `text` into lines no wider than `width` mm: between words of
    /// Latin text, anywhere between CJK characters, inside a word only when
    /// the word alone is too wide. At most `max_lines`; the last one kept
    /// ends with "…" when text was left out.
    pub(super) fn wrap(&self, text: &str, size: f32, width: f32, max_lines: usize) -> Vec<String> {
        let text = self.font.drawable(text);
        let limit = width * 72.0 / 25.4;
        let mut lines: Vec<String> = Vec::new();
        let mut line = String::new();
        let mut line_w = 0.0f32;
        for token in tokens(&text) {
            let token_w = self.font.width(token, size);
            if line_w + token_w <= limit || line.is_empty() && token_w <= limit {
                line.push_str(token);
                line_w += token_w;
                continue;
            }
            if token.trim().is_empty() {
                // A space at a line break is dropped.
                lines.push(std::mem::take(&mut line));
                line_w = 0.0;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line).trim_end().to_string());
                line_w = 0.0;
            }
            if token_w <= limit {
                line.push_str(token);
                line_w = token_w;
            } else {
                for c in token.chars() {
                    let w = self.font.char_width(c, size);
                    if line_w + w > limit && !line.is_empty() {
                        lines.push(std::mem::take(&mut line));
                        line_w = 0.0;
                    }
                    line.push(c);
                    line_w += w;
                }
            }
        }
        if !line.trim().is_empty() || lines.is_empty() {
            lines.push(line.trim_end().to_string());
        }
        if lines.len() > max_lines {
            lines.truncate(max_lines);
            let last = lines.last_mut().expect("max_lines >= 1");
            let ellipsis = self.font.width("…", size);
            while !last.is_empty() && self.font.width(last, size) + ellipsis > limit {
                last.pop();
            }
            last.push('…');
        }
        lines
    }
}

/// Splits text into words (runs of non-CJK, non-space characters), single
/// spaces and single CJK characters: the places where a line may break.
fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        let alone = c == ' ' || is_cjk(c);
        if alone {
            if let Some(s) = start.take() {
                out.push(&text[s..i]);
            }
            out.push(&text[i..i + c.len_utf8()]);
        } else if start.is_none() {
            start = Some(i);
        }
        // Allow a break after a slash, hyphen or comma inside a long word
        // (URLs, paths, case references).
        if matches!(c, '/' | '-' | ',' | '&' | '?')
            && let Some(s) = start.take()
        {
            out.push(&text[s..i + c.len_utf8()]);
        }
    }
    if let Some(s) = start {
        out.push(&text[s..]);
    }
    out
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFFEF
        | 0x20000..=0x2FA1F)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_break_where_lines_may_break() {
        assert_eq!(tokens("ab cd"), vec!["ab", " ", "cd"]);
        assert_eq!(tokens("证据ab"), vec!["证", "据", "ab"]);
        assert_eq!(tokens("a/b-c"), vec!["a/", "b-", "c"]);
        assert!(tokens("").is_empty());
    }
}
