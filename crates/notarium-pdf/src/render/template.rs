//! The certificate template (`templates/certificate.toml`): wording in both
//! languages, the notary's name, colours, font, logo and positions.
//!
//! An operator's template is merged over the built-in one key by key, so a
//! copy may hold only what it changes; unknown keys are refused.

use crate::PdfError;
use serde::Deserialize;

/// The built-in template, compiled in.
pub const BUILTIN_TEMPLATE: &str = include_str!("../../templates/certificate.toml");

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Template {
    pub notary: Notary,
    pub font: FontConfig,
    pub logo: Logo,
    pub colors: Colors,
    pub time: TimeConfig,
    pub layout: Layout,
    pub text: Text,
    pub labels: Labels,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Notary {
    pub name_zh: String,
    pub name_en: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FontConfig {
    pub path: String,
    pub index: usize,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Logo {
    pub path: String,
    pub x_mm: f32,
    pub y_mm: f32,
    pub width_mm: f32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Colors {
    pub accent: Rgb,
    pub text: Rgb,
    pub muted: Rgb,
    pub rule: Rgb,
    #[serde(rename = "box")]
    pub box_fill: Rgb,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TimeConfig {
    pub local_offset_minutes: i32,
    pub local_label_zh: String,
    pub local_label_en: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Layout {
    pub frame: bool,
    pub frame_inset_mm: f32,
    pub margin_mm: f32,
    pub title_y_mm: f32,
    pub title_size_pt: f32,
    pub subtitle_size_pt: f32,
    pub notary_size_pt: f32,
    pub intro_size_pt: f32,
    pub body_top_mm: f32,
    pub heading_size_pt: f32,
    pub label_size_pt: f32,
    pub label_en_size_pt: f32,
    pub value_size_pt: f32,
    pub row_mm: f32,
    pub value_x_mm: f32,
    pub max_value_lines: usize,
    pub qr_size_mm: f32,
    pub footer_y_mm: f32,
    pub footer_size_pt: f32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Text {
    pub title_zh: String,
    pub title_en: String,
    pub issued_by_zh: String,
    pub issued_by_en: String,
    pub intro_zh: String,
    pub intro_en: String,
    pub evidence_zh: String,
    pub evidence_en: String,
    pub witnesses_zh: String,
    pub witnesses_en: String,
    pub log_zh: String,
    pub log_en: String,
    pub verify_zh: String,
    pub verify_en: String,
    pub offline_zh: String,
    pub offline_en: String,
    pub command: String,
    pub file_hint_zh: String,
    pub file_hint_en: String,
    pub online_zh: String,
    pub online_en: String,
    pub qr_caption_zh: String,
    pub qr_caption_en: String,
    pub witnessed_zh: String,
    pub witnessed_en: String,
    pub footer_zh: String,
    pub footer_en: String,
    pub bytes_zh: String,
    pub bytes_en: String,
}

/// A label in both languages.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Label {
    pub zh: String,
    pub en: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Labels {
    pub certificate_id: Label,
    pub sha256: Label,
    pub title: Label,
    pub file_name: Label,
    pub size: Label,
    pub media_type: Label,
    pub case_reference: Label,
    pub submitter: Label,
    pub received: Label,
    pub role: Label,
    pub witness: Label,
    pub witnessed_at: Label,
    pub witnessed_time: Label,
    /// An RFC 3161 timestamp row: the TSA's time and name.
    pub tsa: Label,
    /// A standard C2SP witness row: its time and names. Optional in an
    /// operator's template (written before it existed).
    #[serde(default = "standard_witness_label")]
    pub standard_witness: Label,
    pub local_time: Label,
    pub court: Label,
    pub arbitration: Label,
    pub notary: Label,
    pub origin: Label,
    pub index: Label,
    pub tree_size: Label,
    pub root_hash: Label,
}

fn standard_witness_label() -> Label {
    let (zh, en) = ("标准见证方", "C2SP witness (UTC)");
    Label {
        zh: zh.into(),
        en: en.into(),
    }
}

/// A colour written `"#RRGGBB"`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Rgb(pub [u8; 3]);

impl<'de> Deserialize<'de> for Rgb {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_rgb(&s).ok_or_else(|| {
            serde::de::Error::custom(format!("colour \"{s}\" is not written #RRGGBB"))
        })
    }
}

fn parse_rgb(s: &str) -> Option<Rgb> {
    let hex = s.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some(Rgb([byte(0)?, byte(2)?, byte(4)?]))
}

impl Template {
    /// Parses an operator's template text over the built-in one.
    pub(super) fn parse(text: &str) -> Result<Self, PdfError> {
        let mut base: toml::Table = BUILTIN_TEMPLATE
            .parse()
            .map_err(|e| PdfError::Template(format!("built-in template: {e}")))?;
        let user: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| PdfError::Template(e.to_string()))?;
        merge(&mut base, user);
        let template: Template = toml::Value::Table(base)
            .try_into()
            .map_err(|e: toml::de::Error| PdfError::Template(e.to_string()))?;
        template.check()?;
        Ok(template)
    }

    fn check(&self) -> Result<(), PdfError> {
        let l = &self.layout;
        let sizes = [
            ("title_size_pt", l.title_size_pt),
            ("subtitle_size_pt", l.subtitle_size_pt),
            ("notary_size_pt", l.notary_size_pt),
            ("intro_size_pt", l.intro_size_pt),
            ("heading_size_pt", l.heading_size_pt),
            ("label_size_pt", l.label_size_pt),
            ("label_en_size_pt", l.label_en_size_pt),
            ("value_size_pt", l.value_size_pt),
            ("footer_size_pt", l.footer_size_pt),
        ];
        for (name, v) in sizes {
            if !(4.0..=72.0).contains(&v) {
                return Err(PdfError::Template(format!(
                    "layout.{name} = {v}: font sizes must be between 4 and 72 points"
                )));
            }
        }
        let lengths = [
            ("frame_inset_mm", l.frame_inset_mm, 0.0, 60.0),
            ("margin_mm", l.margin_mm, 5.0, 60.0),
            ("title_y_mm", l.title_y_mm, 5.0, 150.0),
            ("body_top_mm", l.body_top_mm, 10.0, 200.0),
            ("row_mm", l.row_mm, 3.0, 20.0),
            ("value_x_mm", l.value_x_mm, l.margin_mm + 10.0, 150.0),
            ("qr_size_mm", l.qr_size_mm, 15.0, 80.0),
            ("footer_y_mm", l.footer_y_mm, 200.0, 292.0),
            ("logo.width_mm", self.logo.width_mm, 1.0, 100.0),
        ];
        for (name, v, lo, hi) in lengths {
            if !(lo..=hi).contains(&v) {
                return Err(PdfError::Template(format!(
                    "{name} = {v}: must be between {lo} and {hi} mm"
                )));
            }
        }
        if !(1..=20).contains(&l.max_value_lines) {
            return Err(PdfError::Template(
                "layout.max_value_lines must be between 1 and 20".into(),
            ));
        }
        if !(-14 * 60..=14 * 60).contains(&self.time.local_offset_minutes) {
            return Err(PdfError::Template(
                "time.local_offset_minutes must be between -840 and 840".into(),
            ));
        }
        Ok(())
    }
}

/// Overlays `user` on `base`, table by table.
fn merge(base: &mut toml::Table, user: toml::Table) {
    for (key, value) in user {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(u)) => merge(b, u),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_parses() {
        let t = Template::parse("").unwrap();
        assert_eq!(t.text.title_zh, "电子数据存证证书");
        assert_eq!(t.colors.accent, Rgb([0x9E, 0x1B, 0x1B]));
    }

    #[test]
    fn operator_overrides_merge_over_builtin() {
        let t = Template::parse(
            "[notary]\nname_en = \"Example Notary\"\n[labels.court]\nen = \"People's Court\"\n",
        )
        .unwrap();
        assert_eq!(t.notary.name_en, "Example Notary");
        assert_eq!(t.notary.name_zh, "Notarium 示范存证中心（开发环境）");
        assert_eq!(t.labels.court.en, "People's Court");
        assert_eq!(t.labels.court.zh, "法院");
    }

    #[test]
    fn refuses_typos_and_bad_values() {
        for bad in [
            "[notary]\nnmae_en = \"x\"\n",
            "[colors]\naccent = \"red\"\n",
            "[layout]\ntitle_size_pt = 200.0\n",
            "[layout]\nrow_mm = \"6\"\n",
            "not toml",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }
}
