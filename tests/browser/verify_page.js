#!/usr/bin/env node
// Drives the judge's page (/verify) in the system's headless Chromium, the
// way a person would: picks (or drops) the certificate and the evidence file,
// operates the page with the keyboard, reads what the page shows. Run by
// tests/browser.rs, which starts a real notary and asserts on the JSON this
// prints on stdout (diagnostics go to stderr).
//
//   node verify_page.js CONFIG.json
//
// CONFIG: {
//   "base": "http://127.0.0.1:PORT",     the notary (a secure context)
//   "insecure_host": "notary.test",      mapped to 127.0.0.1: NOT a secure context,
//                                        so the page has no crypto.subtle
//   "screenshots": "/dir",               where the PNGs go
//   "chromium": "/usr/bin/chromium",
//   "cases": [{ "name", "certificate": path, "evidence": path | null,
//               "insecure": bool, "drop": bool, "vectors": bool,
//               "timezone": "Asia/Shanghai" | null, "screenshot": "x.png" | null }]
// }
"use strict";

const fs = require("fs");
const path = require("path");
const crypto = require("crypto");
const { chromium } = require("playwright-core");

const TIMEOUT_MS = 20000;
// Never hang the Rust test: the whole run has a hard deadline.
setTimeout(() => {
  console.error("verify_page.js: overall deadline (150 s) exceeded");
  process.exit(3);
}, 150000).unref();

const config = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));

// Deterministic pseudo-random bytes, identical in Node and in the page.
function patternSource() {
  return function pattern(n, seed) {
    const out = new Uint8Array(n);
    let x = seed >>> 0;
    for (let i = 0; i < n; i++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      out[i] = x >>> 24;
    }
    return out;
  };
}
const pattern = patternSource();
const nodeSha = (bytes) => crypto.createHash("sha256").update(bytes).digest("hex");

// The JS SHA-256 of the page against known answers, against Node's OpenSSL
// and (where the page has it) against Web Crypto. Runs inside the page.
async function sha256Vectors(page) {
  const got = await page.evaluate(async (patternText) => {
    const pattern = new Function("return (" + patternText + ")()")();
    const S = window.NotariumSha256;
    const out = {};
    out.empty = S.hex(new Uint8Array(0));
    out.abc = S.hex("abc");
    out.two_blocks = S.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
    out.million_a = S.hex(new Uint8Array(1000000).fill(0x61));
    const mib = pattern(1 << 20, 7);
    out.pattern_1mib = S.hex(mib);
    // The same megabyte fed in awkward pieces (the streaming path).
    const h = new S.Sha256();
    const sizes = [1, 63, 64, 65, 0, 1000, 4096, 55, 56, 57];
    let off = 0, k = 0;
    while (off < mib.length) {
      const n = Math.min(sizes[k++ % sizes.length], mib.length - off);
      h.update(mib.subarray(off, off + n));
      off += n;
    }
    out.pattern_1mib_incremental = Array.from(h.digest(), (b) => b.toString(16).padStart(2, "0")).join("");
    // Every length around the padding boundaries.
    const lens = [];
    for (let n = 0; n <= 200; n++) lens.push(S.hex(pattern(n, n + 1)));
    out.lengths_0_200 = lens.join(",");
    // hashFile over a Blob larger than one slice: Web Crypto here if the
    // context is secure, the JS streaming path otherwise.
    const blob = new Blob([pattern(S.SLICE * 2 + 12345, 99)]);
    const r = await S.hashFile(blob, () => {}, () => false);
    out.blob_method = r.method;
    out.blob = r.hex;
    out.secure_context = window.isSecureContext;
    out.webcrypto = S.webCryptoAvailable();
    if (out.webcrypto) {
      const d = await crypto.subtle.digest("SHA-256", mib);
      out.pattern_1mib_webcrypto = Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
    }
    return out;
  }, patternSource.toString());

  const lens = [];
  for (let n = 0; n <= 200; n++) lens.push(nodeSha(pattern(n, n + 1)));
  const mib = pattern(1 << 20, 7);
  const expected = {
    empty: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    abc: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    two_blocks: "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    million_a: "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
    pattern_1mib: nodeSha(mib),
    pattern_1mib_incremental: nodeSha(mib),
    lengths_0_200: lens.join(","),
    blob: nodeSha(pattern(4 * 1024 * 1024 * 2 + 12345, 99)),
  };
  if (got.webcrypto) expected.pattern_1mib_webcrypto = nodeSha(mib);
  const results = Object.keys(expected).map((name) => ({
    name,
    expected: expected[name],
    got: got[name] === undefined ? null : got[name],
  }));
  return {
    secure_context: got.secure_context,
    webcrypto: got.webcrypto,
    blob_method: got.blob_method,
    results,
  };
}

// WCAG AA contrast of every visible piece of text on the page.
async function contrastAudit(page) {
  return page.evaluate(() => {
    function parse(c) {
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
      return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
    }
    function lum(c) {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
      return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
    }
    function background(e) {
      for (; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c && c.a > 0.5) return c;
      }
      return { r: 255, g: 255, b: 255, a: 1 };
    }
    const worst = [];
    let min = 21, count = 0;
    for (const e of document.querySelectorAll("body *")) {
      const own = Array.from(e.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
      if (!own) continue;
      const r = e.getBoundingClientRect();
      const cs = getComputedStyle(e);
      if (r.width === 0 || r.height === 0 || cs.visibility === "hidden") continue;
      if (e.closest(".skip")) continue; // off-screen until focused
      const fg = parse(cs.color), bg = background(e);
      const l1 = lum(fg), l2 = lum(bg);
      const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
      const size = parseFloat(cs.fontSize), bold = parseInt(cs.fontWeight, 10) >= 700;
      const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
      count++;
      min = Math.min(min, ratio);
      if (ratio < need) worst.push({ text: e.textContent.trim().slice(0, 60), ratio: +ratio.toFixed(2), need, color: cs.color });
    }
    return { elements: count, min_ratio: +min.toFixed(2), failures: worst };
  });
}

// Text that does not fit its box (clipped or spilling sideways).
async function overflowAudit(page) {
  return page.evaluate(() => {
    const out = [];
    const vw = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth > vw + 1) out.push("page scrolls sideways: " + document.documentElement.scrollWidth + " > " + vw);
    for (const e of document.querySelectorAll("main *")) {
      if (e.closest(".table-wrap, pre, input")) continue;
      const r = e.getBoundingClientRect();
      if (r.width === 0) continue;
      const what = e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className ? "." + e.className : "") +
        " \"" + e.textContent.trim().slice(0, 40) + "\"";
      if (e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0) {
        out.push(what + (getComputedStyle(e).overflowX === "visible" ? " spills out of its box" : " clips its content"));
      }
      if (r.right > vw + 1) out.push(what + " extends past the viewport");
    }
    return out;
  });
}

// Keyboard: Tab from the top until the Verify button has focus, noting the
// focus order and whether each stop shows a visible focus indicator.
async function tabToVerify(page) {
  await page.evaluate(() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); });
  const order = [];
  for (let i = 0; i < 15; i++) {
    await page.keyboard.press("Tab");
    const f = await page.evaluate(() => {
      const e = document.activeElement;
      const cs = getComputedStyle(e);
      return {
        id: e.id || e.tagName.toLowerCase(),
        outline: cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) >= 2,
        focus_visible: e.matches(":focus-visible"),
      };
    });
    order.push(f);
    if (f.id === "verify-btn") return order;
  }
  return order;
}

async function dropFile(page, selector, file) {
  const bytes = fs.readFileSync(file).toString("base64");
  const dt = await page.evaluateHandle(({ b64, name }) => {
    const bin = atob(b64);
    const u = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i);
    const dt = new DataTransfer();
    dt.items.add(new File([u], name));
    return dt;
  }, { b64: bytes, name: path.basename(file) });
  await page.dispatchEvent(selector, "dragenter", { dataTransfer: dt });
  await page.dispatchEvent(selector, "dragover", { dataTransfer: dt });
  await page.dispatchEvent(selector, "drop", { dataTransfer: dt });
}

async function runCase(browser, c) {
  const context = await browser.newContext({
    viewport: { width: 1100, height: 900 },
    deviceScaleFactor: 1,
    timezoneId: c.timezone || "UTC",
  });
  // Every Content-Security-Policy violation the page meets, recorded from
  // before its own script runs (init scripts are not subject to the CSP).
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__cspViolations.push({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample });
    });
  });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  const requests = [];
  const problems = [];
  page.on("request", (r) => {
    let keys = null;
    const body = r.postData();
    if (body) {
      try { keys = Object.keys(JSON.parse(body)).sort(); } catch (_) { keys = ["<not JSON>"]; }
    }
    requests.push({ method: r.method(), url: r.url(), body_keys: keys, body_bytes: body ? body.length : 0 });
  });
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(m.type() + ": " + m.text()); });
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("requestfailed", (r) => problems.push("request failed: " + r.url() + " " + (r.failure() || {}).errorText));

  const origin = c.insecure ? config.base.replace("127.0.0.1", config.insecure_host) : config.base;
  const resp = await page.goto(origin + "/verify", { waitUntil: "load" });
  const headers = resp.headers();

  let vectors = null;
  if (c.vectors) vectors = await sha256Vectors(page);

  if (c.drop) {
    await dropFile(page, "#cert-zone", c.certificate);
    if (c.evidence) await dropFile(page, "#file-zone", c.evidence);
  } else {
    await page.setInputFiles("#cert-input", c.certificate);
    if (c.evidence) await page.setInputFiles("#file-input", c.evidence);
  }
  const tabOrder = await tabToVerify(page);
  if (tabOrder[tabOrder.length - 1].id !== "verify-btn") throw new Error("Tab never reached the Verify button: " + JSON.stringify(tabOrder));
  await page.keyboard.press("Enter");
  await page.waitForSelector('#verdict[data-state="done"], #verdict[data-state="error"]');

  const shown = await page.evaluate(() => {
    const q = (s) => document.querySelector(s);
    const txt = (s) => (q(s) ? q(s).textContent.replace(/\s+/g, " ").trim() : null);
    const v = q("#verdict");
    const earliest = {};
    document.querySelectorAll("#earliest dd[data-group]").forEach((dd) => {
      const t = dd.querySelector("time");
      earliest[dd.getAttribute("data-group")] = { datetime: t ? t.getAttribute("datetime") : null, text: dd.textContent.trim() };
    });
    const w = q("#witnessed-at time");
    const witnessed_at = w ? w.getAttribute("datetime") : null;
    return {
      state: v.getAttribute("data-state"),
      valid: v.getAttribute("data-valid"),
      failed: (v.getAttribute("data-failed") || "").split(" ").filter(Boolean),
      headline: txt("#verdict-headline"),
      failed_text: txt("#failed-checks"),
      meaning: txt("#meaning"),
      verdict_text: v.textContent.replace(/\s+/g, " ").trim(),
      verdict_live: v.getAttribute("aria-live"),
      checks: Array.from(document.querySelectorAll("#checks tbody tr")).map((tr) => ({
        id: tr.getAttribute("data-check"), status: tr.getAttribute("data-status"),
        text: tr.textContent.replace(/\s+/g, " ").trim(),
      })),
      witnesses: Array.from(document.querySelectorAll("#witnesses tbody tr[data-role]")).map((tr) => ({
        role: tr.getAttribute("data-role"),
        name: tr.children[1].textContent.trim(),
        time: tr.querySelector("time").getAttribute("datetime"),
        counted: tr.getAttribute("data-counted") === "true",
      })),
      timestamps: Array.from(document.querySelectorAll("#timestamps tbody tr[data-counted]")).map((tr) => ({
        tsa: tr.children[0].textContent.trim(),
        time: tr.querySelector("time").getAttribute("datetime"),
        counted: tr.getAttribute("data-counted") === "true",
      })),
      earliest,
      witnessed_at,
      evidence_sha256: txt("#fact-sha256"),
      submitter: txt("#fact-submitter"),
      received: txt("#fact-received"),
      file_sha256: q("#file-zone").getAttribute("data-sha256"),
      hash_method: q("#file-zone").getAttribute("data-hash-method"),
      cli: txt("#cli-command"),
      focus_after: document.activeElement ? document.activeElement.id : null,
      unlabelled_inputs: Array.from(document.querySelectorAll("input, button, select, textarea"))
        .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute("aria-label") && !e.textContent.trim())
        .map((e) => e.id),
    };
  });
  const contrast = await contrastAudit(page);
  const overflow = await overflowAudit(page);
  let screenshot = null;
  if (c.screenshot) {
    screenshot = path.join(config.screenshots, c.screenshot);
    await page.screenshot({ path: screenshot, fullPage: true });
    // The same page on a phone-sized screen.
    await page.setViewportSize({ width: 390, height: 800 });
    shown.overflow_narrow = await overflowAudit(page);
    await page.screenshot({ path: screenshot.replace(/\.png$/, "-narrow.png"), fullPage: true });
  }
  // The page ran under its policy without a single violation; then, as a
  // control, code injected the way an attacker would (an inline script, an
  // attribute handler) is refused and reported.
  const csp_violations = await page.evaluate(() => window.__cspViolations.slice());
  const problemsBeforeProbe = problems.slice();
  const csp_probe = await page.evaluate(async () => {
    const before = window.__cspViolations.length;
    window.__cspProbeRan = [];
    const s = document.createElement("script");
    s.textContent = "window.__cspProbeRan.push('script');";
    document.body.appendChild(s);
    const d = document.createElement("div");
    d.setAttribute("onclick", "window.__cspProbeRan.push('onclick')");
    document.body.appendChild(d);
    d.click();
    d.remove();
    // Violation events are dispatched asynchronously: wait for both, up to 2 s.
    const deadline = Date.now() + 2000;
    while (window.__cspViolations.length < before + 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    return {
      ran: window.__cspProbeRan,
      violations: window.__cspViolations.slice(before).map((v) => v.directive),
    };
  });
  await context.close();
  return {
    name: c.name,
    csp: headers["content-security-policy"] || null,
    frame_options: headers["x-frame-options"] || null,
    csp_violations,
    csp_probe,
    vectors,
    tab_order: tabOrder,
    shown,
    contrast,
    overflow,
    requests,
    problems: problemsBeforeProbe,
    screenshot,
  };
}

(async () => {
  const started = Date.now();
  const browser = await chromium.launch({
    executablePath: config.chromium || "/usr/bin/chromium",
    headless: true,
    timeout: 30000,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      // A non-localhost name for the notary, to load the page outside a
      // secure context (no crypto.subtle) and exercise the JS SHA-256.
      "--host-resolver-rules=MAP " + config.insecure_host + " 127.0.0.1",
      "--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable",
    ],
  });
  const out = { chromium: browser.version(), cases: [] };
  try {
    for (const c of config.cases) {
      const t = Date.now();
      const r = await runCase(browser, c);
      r.ms = Date.now() - t;
      console.error(`case ${c.name}: ${r.shown.valid === "true" ? "VALID" : "INVALID"} in ${r.ms} ms`);
      out.cases.push(r);
    }
  } finally {
    await browser.close();
  }
  out.ms = Date.now() - started;
  process.stdout.write(JSON.stringify(out) + "\n");
})().catch((e) => {
  console.error("verify_page.js failed:", e && e.stack || e);
  process.exit(1);
});
