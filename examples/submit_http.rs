//! Submit a file's digest over HTTP with the client library and print the
//! receipt (the file itself never leaves this machine):
//!
//!     cargo run --example submit_http -- http://127.0.0.1:8080 $NOTARIUM_API_KEY README.md
use sha2::{Digest, Sha256};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [server, key, file] = args.as_slice() else {
        return Err("usage: submit_http SERVER_URL API_KEY FILE".into());
    };
    let digest = hex::encode(Sha256::digest(std::fs::read(file)?));
    let client = notarium::client::Client::new(server, key, &[]);
    let item = serde_json::json!({"sha256": digest, "metadata": {"file_name": file}});
    let accepted = client.submit(&[item], 3).await.map_err(|e| e.to_string())?;
    println!("id: {}", accepted[0]["id"]);
    println!("received at: {}", accepted[0]["received_at"]);
    println!("{}", accepted[0]["receipt"].as_str().unwrap_or_default());
    Ok(())
}
