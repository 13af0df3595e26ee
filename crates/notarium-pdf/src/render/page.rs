//! The layout of the certificate page.

use super::canvas::{Canvas, PAGE_H_MM, PAGE_W_MM, Style, mm_of_pt, pt};
use super::facts::CertificateFacts;
use super::font::PageFont;
use super::template::{Label, Template};
use crate::PdfError;
use notarium_core::identity::Role;
use notarium_core::time::UtcMillis;
use printpdf::{FontId, Op, XObjectId, XObjectTransform};

/// Witness rows shown; more are summarised in one line (the JSON has all).
const MAX_WITNESS_ROWS: usize = 8;

pub(crate) struct PageInput<'a> {
    pub template: &'a Template,
    pub facts: &'a CertificateFacts,
    pub certificate_id: &'a str,
    /// The verification link the QR code carries.
    pub link: &'a str,
    /// The QR image and its width in pixels.
    pub qr: (XObjectId, usize),
    /// The logo image and its size in pixels.
    pub logo: Option<(XObjectId, usize, usize)>,
}

/// Draws the page. Long values take up to `max_value_lines` lines; when
/// the page overflows they are shortened further, down to one line each
/// (the JSON keeps them whole); fails when even that does not fit.
pub(crate) fn draw(
    input: &PageInput<'_>,
    font: &PageFont,
    font_id: FontId,
) -> Result<Vec<Op>, PdfError> {
    let mut lines = input.template.layout.max_value_lines;
    loop {
        match draw_with(input, font, font_id.clone(), lines) {
            Err(PdfError::Template(_)) if lines > 1 => lines -= 1,
            other => return other,
        }
    }
}

fn draw_with(
    input: &PageInput<'_>,
    font: &PageFont,
    font_id: FontId,
    max_value_lines: usize,
) -> Result<Vec<Op>, PdfError> {
    let t = input.template;
    let l = &t.layout;
    let c = &t.colors;
    let f = input.facts;
    let mut cv = Canvas::new(font, font_id.clone());
    let left = l.margin_mm;
    let right = PAGE_W_MM - l.margin_mm;
    let center = PAGE_W_MM / 2.0;

    // Frame.
    if l.frame {
        let i = l.frame_inset_mm;
        cv.rect(
            i,
            i,
            PAGE_W_MM - 2.0 * i,
            PAGE_H_MM - 2.0 * i,
            None,
            Some((1.2, c.accent)),
        );
        let j = i + 1.5;
        cv.rect(
            j,
            j,
            PAGE_W_MM - 2.0 * j,
            PAGE_H_MM - 2.0 * j,
            None,
            Some((0.4, c.accent)),
        );
    }

    // Logo.
    if let Some((id, w_px, h_px)) = &input.logo {
        let w = t.logo.width_mm;
        let h = w * *h_px as f32 / (*w_px).max(1) as f32;
        place_image(&mut cv, id, *w_px, t.logo.x_mm, t.logo.y_mm, w, h);
    }

    // Title block.
    let mut y = l.title_y_mm;
    cv.text_centered(
        center,
        y,
        Style::new(l.title_size_pt, c.accent).bold(),
        &t.text.title_zh,
    );
    y += mm_of_pt(l.subtitle_size_pt) * 1.25 + 2.0;
    cv.text_centered(
        center,
        y,
        Style::new(l.subtitle_size_pt, c.accent),
        &t.text.title_en,
    );
    y += mm_of_pt(l.notary_size_pt) * 1.6 + 2.5;
    let notary_lh = mm_of_pt(l.notary_size_pt) * 1.5;
    let width = right - left;
    for (style, text) in [
        (
            Style::new(l.notary_size_pt, c.text),
            format!("{}：{}", t.text.issued_by_zh, t.notary.name_zh),
        ),
        (
            Style::new(l.notary_size_pt, c.muted),
            format!("{}: {}", t.text.issued_by_en, t.notary.name_en),
        ),
    ] {
        for line in cv.wrap(&text, style.size, width, 2) {
            cv.text_centered(center, y, style, &line);
            y += notary_lh;
        }
    }
    y -= notary_lh;
    y += 3.5;
    cv.line((left, y), (right, y), 0.8, c.rule);

    // Introduction.
    y += 2.0;
    y = paragraph(
        &mut cv,
        left,
        y,
        width,
        Style::new(l.intro_size_pt, c.text),
        &t.text.intro_zh,
        8,
    );
    y += 0.8;
    y = paragraph(
        &mut cv,
        left,
        y,
        width,
        Style::new(l.intro_size_pt - 0.5, c.muted),
        &t.text.intro_en,
        8,
    );

    let mut rows = Rows {
        cv: &mut cv,
        t,
        y: (y + 4.0).max(l.body_top_mm),
        max_value_lines,
        left,
        right,
    };

    // 1. Evidence.
    rows.heading(&t.text.evidence_zh, &t.text.evidence_en);
    rows.row(&t.labels.certificate_id, input.certificate_id, None);
    rows.row(&t.labels.sha256, &f.evidence_sha256, None);
    if let Some(v) = &f.title {
        rows.row(&t.labels.title, v, None);
    }
    if let Some(v) = &f.file_name {
        rows.row(&t.labels.file_name, v, None);
    }
    if let Some(size) = f.size {
        let v = format!(
            "{} {} / {}",
            group_thousands(size),
            t.text.bytes_zh,
            t.text.bytes_en
        );
        rows.row(&t.labels.size, &v, human_size(size).as_deref());
    }
    if let Some(v) = &f.media_type {
        rows.row(&t.labels.media_type, v, None);
    }
    if let Some(v) = &f.case_reference {
        rows.row(&t.labels.case_reference, v, None);
    }
    rows.row(&t.labels.submitter, &f.submitter, None);
    let local = local_time(t, &f.received_at);
    rows.row(&t.labels.received, &f.received_at, local.as_deref());

    // 2. Witnesses.
    rows.heading(&t.text.witnesses_zh, &t.text.witnesses_en);
    rows.witnesses(f);
    // RFC 3161 timestamps: the TSA's time, then its name.
    for ts in &f.timestamps {
        rows.row(&t.labels.tsa, &ts.time, Some(&ts.tsa));
    }
    // Standard C2SP witnesses: the time, then the policy file's name and
    // the key name.
    for s in &f.standard_witnesses {
        let who = format!("{} ({})", s.name, s.key_name);
        rows.row(&t.labels.standard_witness, &s.time, Some(&who));
    }
    // Last, the time all of them together prove.
    rows.witnessed_time(f);

    // 3. Log position.
    rows.heading(&t.text.log_zh, &t.text.log_en);
    rows.row(&t.labels.origin, &f.origin, None);
    rows.row(&t.labels.index, &f.index.to_string(), None);
    rows.row(&t.labels.tree_size, &f.tree_size.to_string(), None);
    rows.row(&t.labels.root_hash, &f.root_hash, None);

    // 4. How to verify, with the QR code on the right, at the foot of the
    // page (or right after the log position when the page is full).
    let verify_h = {
        let mut scratch = Canvas::new(font, font_id.clone());
        let mut r = Rows {
            cv: &mut scratch,
            t,
            y: 0.0,
            max_value_lines,
            left,
            right,
        };
        r.verify_section(input)
    };
    rows.y = rows.y.max(l.footer_y_mm - 8.0 - verify_h);
    let end = rows.verify_section(input);

    // Footer.
    let footer_y = l.footer_y_mm;
    if end > footer_y - 4.0 {
        return Err(PdfError::Template(format!(
            "the certificate does not fit on one page with this template (its content ends at {end:.0} mm, \
             the footer is at {footer_y:.0} mm): use smaller sizes, rows or max_value_lines"
        )));
    }
    cv.line((left, footer_y - 4.0), (right, footer_y - 4.0), 0.4, c.rule);
    let fs = Style::new(l.footer_size_pt, c.muted);
    let footer = format!("{}  {}", t.text.footer_zh, t.text.footer_en);
    if cv.width(&footer, l.footer_size_pt) <= width {
        cv.text_centered(center, footer_y, fs, &footer);
    } else {
        cv.text_centered(
            center,
            footer_y - mm_of_pt(l.footer_size_pt) * 1.3,
            fs,
            &t.text.footer_zh,
        );
        cv.text_centered(center, footer_y, fs, &t.text.footer_en);
    }
    Ok(cv.ops)
}

/// Draws a wrapped paragraph whose first baseline is one line below `y`;
/// returns the y of its last baseline.
fn paragraph(
    cv: &mut Canvas<'_>,
    x: f32,
    mut y: f32,
    width: f32,
    style: Style,
    text: &str,
    max: usize,
) -> f32 {
    let lh = mm_of_pt(style.size) * 1.5;
    for line in cv.wrap(text, style.size, width, max) {
        y += lh;
        cv.text(x, y, style, &line);
    }
    y
}

/// An image with its top-left corner at (`x`, `y`), `w` by `h` mm.
fn place_image(cv: &mut Canvas<'_>, id: &XObjectId, w_px: usize, x: f32, y: f32, w: f32, h: f32) {
    // printpdf maps the image to w_px / dpi inches.
    let dpi = w_px as f32 * 25.4 / w;
    cv.ops.push(Op::UseXobject {
        id: id.clone(),
        transform: XObjectTransform {
            translate_x: Some(pt(x)),
            translate_y: Some(pt(PAGE_H_MM - y - h)),
            dpi: Some(dpi),
            ..Default::default()
        },
    });
}

/// The sections below the title: a heading, then label/value rows.
struct Rows<'c, 'f> {
    cv: &'c mut Canvas<'f>,
    t: &'c Template,
    /// Baseline of the next row.
    y: f32,
    max_value_lines: usize,
    left: f32,
    right: f32,
}

impl Rows<'_, '_> {
    fn value_line_mm(&self) -> f32 {
        mm_of_pt(self.t.layout.value_size_pt) * 1.45
    }

    fn heading(&mut self, zh: &str, en: &str) {
        let l = &self.t.layout;
        let c = &self.t.colors;
        self.y += 4.5;
        let end = self.cv.text(
            self.left,
            self.y,
            Style::new(l.heading_size_pt, c.accent).bold(),
            zh,
        );
        self.cv.text(
            end + 2.5,
            self.y,
            Style::new(l.heading_size_pt - 2.0, c.accent),
            en,
        );
        self.cv.line(
            (self.left, self.y + 1.8),
            (self.right, self.y + 1.8),
            0.4,
            c.rule,
        );
        self.y += l.row_mm + 0.6;
    }

    /// Draws a label; returns where its English part ends.
    fn label(&mut self, x: f32, y: f32, label: &Label) -> f32 {
        let l = &self.t.layout;
        let c = &self.t.colors;
        let end = self
            .cv
            .text(x, y, Style::new(l.label_size_pt, c.text), &label.zh);
        self.cv.text(
            end + 1.5,
            y,
            Style::new(l.label_en_size_pt, c.muted),
            &label.en,
        )
    }

    /// A label and its value (wrapped), with an optional muted note after
    /// the value (or below it when it does not fit).
    fn row(&mut self, label: &Label, value: &str, note: Option<&str>) {
        let l = &self.t.layout;
        let c = &self.t.colors;
        let x = self.left + 2.0;
        let label_end = self.label(x, self.y, label);
        // A label too long for its column pushes the value down a line.
        if label_end > l.value_x_mm - 2.0 {
            self.y += self.value_line_mm();
        }
        let width = self.right - l.value_x_mm;
        let lines = self
            .cv
            .wrap(value, l.value_size_pt, width, self.max_value_lines);
        let vs = Style::new(l.value_size_pt, c.text);
        let mut end = l.value_x_mm;
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                self.y += self.value_line_mm();
            }
            end = self.cv.text(l.value_x_mm, self.y, vs, line);
        }
        if let Some(note) = note {
            let ns = Style::new(l.label_en_size_pt + 0.5, c.muted);
            let note_w = self.cv.width(note, ns.size);
            if end + 3.0 + note_w <= self.right {
                self.cv.text(end + 3.0, self.y, ns, note);
            } else {
                self.y += self.value_line_mm();
                self.cv.text(l.value_x_mm, self.y, ns, note);
            }
        }
        self.y += l.row_mm;
    }

    fn witnesses(&mut self, f: &CertificateFacts) {
        let t = self.t;
        let l = &t.layout;
        let c = &t.colors;
        let show_local = !t.time.local_label_zh.is_empty() || !t.time.local_label_en.is_empty();
        // Columns sized to their content: role, witness name, UTC time,
        // local time; a name too long for its column is shortened.
        let x_role = self.left + 2.0;
        let x_name = l.value_x_mm;
        let label_w = |cv: &Canvas<'_>, label: &Label| {
            cv.width(&label.zh, l.label_size_pt) + 1.5 + cv.width(&label.en, l.label_en_size_pt)
        };
        let time_w = self
            .cv
            .width("2026-11-29T06:00:00Z", l.value_size_pt)
            .max(label_w(self.cv, &t.labels.witnessed_at));
        let local_w = self
            .cv
            .width("2026-11-29 14:00:00", l.value_size_pt)
            .max(label_w(self.cv, &t.labels.local_time));
        let name_w = f
            .witnesses
            .iter()
            .map(|w| self.cv.width(&w.name, l.value_size_pt))
            .fold(label_w(self.cv, &t.labels.witness), f32::max);
        let gap = 8.0;
        let tail = if show_local {
            time_w + gap + local_w
        } else {
            time_w
        };
        let x_time = (x_name + name_w + gap).min(self.right - tail);
        let x_local = x_time + time_w + gap;

        // Header.
        self.label(x_role, self.y, &t.labels.role);
        self.label(x_name, self.y, &t.labels.witness);
        self.label(x_time, self.y, &t.labels.witnessed_at);
        if show_local {
            let label = Label {
                zh: t.labels.local_time.zh.clone(),
                en: if t.time.local_label_en.is_empty() {
                    t.labels.local_time.en.clone()
                } else {
                    t.time.local_label_en.clone()
                },
            };
            self.label(x_local, self.y, &label);
        }
        self.cv.line(
            (x_role, self.y + 1.6),
            (self.right, self.y + 1.6),
            0.25,
            c.rule,
        );
        self.y += l.row_mm;

        let vs = Style::new(l.value_size_pt, c.text);
        if f.witnesses.is_empty() {
            self.cv.text(x_role, self.y, vs, "—");
            self.y += l.row_mm;
        }
        for w in f.witnesses.iter().take(MAX_WITNESS_ROWS) {
            let role = match w.role {
                Role::Court => &t.labels.court,
                Role::Arbitration => &t.labels.arbitration,
                Role::Notary => &t.labels.notary,
            };
            self.label(x_role, self.y, role);
            let name_w = x_time - x_name - 2.0;
            let name = self.cv.wrap(&w.name, l.value_size_pt, name_w, 1);
            self.cv.text(x_name, self.y, vs, &name[0]);
            self.cv.text(x_time, self.y, vs, &w.time);
            if show_local && let Some(local) = local_time_plain(t, w.unix_time as i64 * 1000) {
                self.cv.text(x_local, self.y, vs, &local);
            }
            self.y += l.row_mm;
        }
        if f.witnesses.len() > MAX_WITNESS_ROWS {
            let more = f.witnesses.len() - MAX_WITNESS_ROWS;
            self.cv.text(
                x_role,
                self.y,
                Style::new(l.label_en_size_pt, c.muted),
                &format!("… +{more} (certificate.json)"),
            );
            self.y += l.row_mm;
        }
    }

    /// The one time the certificate proves (contract §9), as the verifier
    /// computed it over every group, and what it means.
    fn witnessed_time(&mut self, f: &CertificateFacts) {
        let t = self.t;
        let (l, c, x_role) = (&t.layout, &t.colors, self.left + 2.0);
        let local = local_time_plain(t, f.witnessed_unix as i64 * 1000);
        self.row(&t.labels.witnessed_time, &f.witnessed_at, local.as_deref());
        // What that time means, in both languages, wrapped inside the
        // frame (the English sentence alone is wider than the page).
        let ns = Style::new(l.label_en_size_pt + 0.5, c.muted);
        let note = format!("{} {}", t.text.witnessed_zh, t.text.witnessed_en);
        let lines = self.cv.wrap(&note, ns.size, self.right - x_role, 3);
        for line in &lines {
            self.cv.text(x_role, self.y - 1.0, ns, line);
            self.y += mm_of_pt(ns.size) * 1.45;
        }
        self.y += l.row_mm - 1.5 - mm_of_pt(ns.size) * 1.45;
    }

    /// The "how to verify" heading and content; returns its bottom.
    fn verify_section(&mut self, input: &PageInput<'_>) -> f32 {
        let t = self.t;
        self.heading(&t.text.verify_zh, &t.text.verify_en);
        let top = self.y - mm_of_pt(t.layout.label_size_pt) - 1.0;
        self.verify(input, top)
    }

    /// The "how to verify" text on the left, the QR code on the right;
    /// `top` is the top of the section's content. Returns its bottom.
    fn verify(&mut self, input: &PageInput<'_>, top: f32) -> f32 {
        let t = self.t;
        let l = &t.layout;
        let c = &t.colors;
        let qr = l.qr_size_mm;
        let qr_x = self.right - qr;
        let text_w = qr_x - 5.0 - self.left;
        let x = self.left + 2.0;
        let zh = Style::new(l.label_size_pt, c.text);
        let en = Style::new(l.label_en_size_pt, c.muted);
        let gap = 0.6;

        // Offline.
        let mut y = top;
        y = paragraph(self.cv, x, y, text_w - 2.0, zh, &t.text.offline_zh, 3);
        y = paragraph(self.cv, x, y + gap, text_w - 2.0, en, &t.text.offline_en, 3);
        let cmd_size = l.value_size_pt;
        let cmd_w = (self.cv.width(&t.text.command, cmd_size) + 6.0).min(text_w);
        let box_h = mm_of_pt(cmd_size) * 2.1;
        y += 1.8;
        self.cv
            .rect(x, y, cmd_w, box_h, Some(c.box_fill), Some((0.3, c.rule)));
        let cmd = self.cv.wrap(&t.text.command, cmd_size, cmd_w - 4.0, 1);
        self.cv.text(
            x + 3.0,
            y + box_h * 0.5 + mm_of_pt(cmd_size) * 0.35,
            Style::new(cmd_size, c.text),
            &cmd[0],
        );
        y += box_h;
        y = paragraph(
            self.cv,
            x,
            y + 0.5,
            text_w - 2.0,
            en,
            &t.text.file_hint_zh,
            2,
        );
        y = paragraph(self.cv, x, y, text_w - 2.0, en, &t.text.file_hint_en, 2);

        // Online.
        y += 1.5;
        y = paragraph(self.cv, x, y, text_w - 2.0, zh, &t.text.online_zh, 2);
        y = paragraph(self.cv, x, y + gap, text_w - 2.0, en, &t.text.online_en, 2);
        let link = Style::new(l.label_en_size_pt + 0.5, c.accent);
        y = paragraph(self.cv, x, y + gap, text_w - 2.0, link, input.link, 3);

        // QR code and its caption.
        let (id, px) = &input.qr;
        let qr_top = top + 1.0;
        place_image(self.cv, id, *px, qr_x, qr_top, qr, qr);
        let cap = Style::new(l.label_en_size_pt, c.muted);
        let cap_y = qr_top + qr + mm_of_pt(cap.size) + 0.5;
        let caption = format!("{}  {}", t.text.qr_caption_zh, t.text.qr_caption_en);
        self.cv.text_centered(qr_x + qr / 2.0, cap_y, cap, &caption);
        y.max(cap_y)
    }
}

/// `1234567` → `1,234,567`.
fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// `48213` → `(47.1 KiB)`; none below 1 KiB.
fn human_size(n: u64) -> Option<String> {
    let units = ["KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = None;
    for u in units {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = Some(u);
    }
    unit.map(|u| format!("({v:.1} {u})"))
}

/// `YYYY-MM-DD HH:MM:SS` in the template's local time.
fn local_time_plain(t: &Template, utc_millis: i64) -> Option<String> {
    let ms = utc_millis + i64::from(t.time.local_offset_minutes) * 60_000;
    let text = UtcMillis::from_millis(ms).ok()?.to_text();
    Some(format!("{} {}", &text[..10], &text[11..19]))
}

/// `北京时间 2026-11-29 13:59:53 (UTC+8)` for a contract time text, if the
/// template asks for local times.
fn local_time(t: &Template, utc_text: &str) -> Option<String> {
    if t.time.local_label_zh.is_empty() && t.time.local_label_en.is_empty() {
        return None;
    }
    let ms = UtcMillis::parse(utc_text).ok()?.millis();
    let local = local_time_plain(t, ms)?;
    let mut out = String::new();
    if !t.time.local_label_zh.is_empty() {
        out.push_str(&t.time.local_label_zh);
        out.push(' ');
    }
    out.push_str(&local);
    if !t.time.local_label_en.is_empty() {
        out.push_str(&format!(" ({})", t.time.local_label_en));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(48213), "48,213");
        assert_eq!(group_thousands(1234567), "1,234,567");
        assert_eq!(human_size(1000), None);
        assert_eq!(human_size(48213).as_deref(), Some("(47.1 KiB)"));
        assert_eq!(human_size(5 * 1024 * 1024).as_deref(), Some("(5.0 MiB)"));
    }

    #[test]
    fn local_times() {
        let t = Template::parse("").unwrap();
        assert_eq!(
            local_time(&t, "2026-11-29T05:59:53.123Z").as_deref(),
            Some("北京时间 2026-11-29 13:59:53 (UTC+8)")
        );
        let none =
            Template::parse("[time]\nlocal_label_zh = \"\"\nlocal_label_en = \"\"\n").unwrap();
        assert_eq!(local_time(&none, "2026-11-29T05:59:53.123Z"), None);
    }
}
