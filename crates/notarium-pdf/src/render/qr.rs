//! The QR code for the verification page, and the link it carries.

use crate::PdfError;
use printpdf::{RawImage, RawImageData, RawImageFormat};
use qrcode::{EcLevel, QrCode};

/// Pixels per QR module: enough that no viewer blurs the modules.
const MODULE_PX: u32 = 4;

/// `url` with the certificate id and evidence digest as query parameters,
/// what the verification page needs to find the certificate.
pub(crate) fn verify_link(url: &str, certificate_id: &str, sha256: &str) -> String {
    let (base, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut link = format!(
        "{base}{sep}id={}&sha256={}",
        percent_encode(certificate_id),
        percent_encode(sha256)
    );
    if let Some(f) = fragment {
        link.push('#');
        link.push_str(f);
    }
    link
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The QR code of `data` as a greyscale image (with its quiet zone).
pub(crate) fn qr_image(data: &str) -> Result<RawImage, PdfError> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).map_err(|e| {
        PdfError::Certificate(format!("the verification link does not fit a QR code: {e}"))
    })?;
    let img = code
        .render::<image::Luma<u8>>()
        .module_dimensions(MODULE_PX, MODULE_PX)
        .quiet_zone(true)
        .build();
    let (width, height) = (img.width() as usize, img.height() as usize);
    Ok(RawImage {
        pixels: RawImageData::U8(img.into_raw()),
        width,
        height,
        data_format: RawImageFormat::R8,
        tag: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links() {
        assert_eq!(
            verify_link("https://n.example/verify", "NT-2026/1 a", "ab"),
            "https://n.example/verify?id=NT-2026%2F1%20a&sha256=ab"
        );
        assert_eq!(
            verify_link("https://n.example/verify?lang=zh", "x", "ab"),
            "https://n.example/verify?lang=zh&id=x&sha256=ab"
        );
        assert_eq!(
            verify_link("https://n.example/#/verify", "x", "ab"),
            "https://n.example/?id=x&sha256=ab#/verify"
        );
    }

    #[test]
    fn qr_is_square_and_black_and_white() {
        let img = qr_image("https://n.example/verify?id=x&sha256=00").unwrap();
        assert_eq!(img.width, img.height);
        let RawImageData::U8(px) = &img.pixels else {
            panic!()
        };
        assert!(px.iter().all(|&p| p == 0 || p == 255));
    }
}
