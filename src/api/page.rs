//! `GET /verify`: the judge's page. Self-contained (no CDN, no web font):
//! courts run offline networks. The evidence file is hashed in the browser.
//!
//! Its script and style stay inline (one file, one request) but run under a
//! Content-Security-Policy without `'unsafe-inline'`: each inline `<script>`
//! and `<style>` is allowed by its SHA-256, computed from the page itself at
//! first use, so an edited page cannot drift from its policy. Anything
//! injected into the page (an attribute handler, another script) is refused.

use actix_web::HttpResponse;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

const PAGE: &str = include_str!("../../templates/verify.html");

/// The contents of every `<tag>…</tag>` element of `html` (no attributes
/// on the opening tag: the page uses none on its script and style).
fn inline_blocks<'a>(html: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&open) {
        let body = &rest[start + open.len()..];
        let end = body
            .find(&close)
            .unwrap_or_else(|| panic!("templates/verify.html: <{tag}> without {close}"));
        out.push(&body[..end]);
        rest = &body[end + close.len()..];
    }
    out
}

/// `'sha256-…'` sources for each inline block of `tag`.
fn hash_sources(tag: &str) -> String {
    inline_blocks(PAGE, tag)
        .iter()
        .map(|b| {
            let d = Sha256::digest(b.as_bytes());
            format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(d)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The page's Content-Security-Policy: nothing but its own hashed script
/// and style, the empty inline icon, and same-origin `POST v1/verify`; it
/// may not be framed (clickjacking a judge), nor change its base URL, nor
/// submit a form elsewhere, nor embed plugins.
pub static CSP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; script-src {}; style-src {}; img-src data:; connect-src 'self'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'",
        hash_sources("script"),
        hash_sources("style")
    )
});

pub async fn verify_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", CSP.as_str()))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(PAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One script and one style, each allowed by its hash and nothing
    /// inline allowed otherwise.
    #[test]
    fn csp_allows_exactly_the_pages_own_script_and_style() {
        assert_eq!(inline_blocks(PAGE, "script").len(), 1);
        assert_eq!(inline_blocks(PAGE, "style").len(), 1);
        // No other way for inline code to run: no attribute handlers, no
        // style attributes (a hash allows neither), no javascript: URLs.
        for banned in [
            " onclick=",
            " onload=",
            " onerror=",
            " style=",
            "javascript:",
        ] {
            assert!(!PAGE.contains(banned), "verify.html contains {banned:?}");
        }
        let csp = CSP.as_str();
        assert!(!csp.contains("unsafe"), "{csp}");
        for d in [
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "object-src 'none'",
            "default-src 'none'",
        ] {
            assert!(csp.contains(d), "{csp} lacks {d}");
        }
        assert_eq!(csp.matches("'sha256-").count(), 2, "{csp}");
    }
}
