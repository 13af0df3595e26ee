//! `GET /verify`: the judge's page. Self-contained (no CDN, no web font):
//! courts run offline networks. The evidence file is hashed in the browser.

use actix_web::HttpResponse;

const PAGE: &str = include_str!("../../templates/verify.html");

pub async fn verify_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(PAGE)
}
