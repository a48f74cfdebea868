// Drives two-step sign-in in Debian's headless Chromium on a 375 px screen: sign in, set up an
// authenticator app on /account (the QR code drawn as inline SVG, the secret as text), confirm
// with a code, see the recovery codes once, sign out, and sign in again through the second step.
// The codes come from RFC 6238 computed here with node's own HMAC-SHA1, at the server's time.
// Run by tests/it/browser.rs; prints one JSON line.
//
// Environment: BASE_URL, HANDLE, PASSWORD, NOW (the server's clock, Unix seconds), SHOTS.
import { createHmac } from "node:crypto";
import { chromium } from "playwright-core";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const base = env("BASE_URL");
const now = Number(env("NOW"));
const shot = (page, name) => page.screenshot({ path: `${env("SHOTS")}/${name}.png`, fullPage: true });
const width = (page) => page.evaluate(() => document.documentElement.scrollWidth);

const base32 = (text) => {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of text) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
};
const totp = (secret, at) => {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30)));
  const mac = createHmac("sha1", base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(binary).padStart(6, "0");
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const result = { widths: {} };
try {
  const context = await browser.newContext({ viewport: { width: 375, height: 800 } });
  const page = await context.newPage();
  const signIn = async () => {
    await page.goto(`${base}/login?return_to=/account`);
    await page.fill("#login", env("HANDLE"));
    await page.fill("#password", env("PASSWORD"));
    await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  };

  await signIn();
  result.offText = (await page.textContent("#two-step + p")) || "";
  await Promise.all([page.waitForNavigation(), page.click("form[action='/account/mfa/totp'] button")]);
  result.qrVisible = await page.isVisible("svg.qr");
  const box = await page.locator("svg.qr").boundingBox();
  result.qrWidth = box ? Math.round(box.width) : 0;
  const secret = await page.inputValue("#totp_secret");
  result.secretLength = secret.length;
  result.widths.setup = await width(page);
  await shot(page, "two-step-setup");

  // A wrong code first: the form again with the reason and the same set-up, nothing turned on.
  await page.fill("form[action='/account/mfa/totp/confirm'] input[name=code]", "000000");
  await Promise.all([page.waitForNavigation(), page.click("form[action='/account/mfa/totp/confirm'] button")]);
  result.wrongCodeAlert = (await page.textContent("[role=alert]")) || "";
  const secretAgain = await page.inputValue("#totp_secret");
  result.sameSecretAfterWrongCode = secretAgain === secret;
  await page.goto(`${base}/account`);
  result.sameSecretAfterReload = (await page.inputValue("#totp_secret")) === secret;
  await page.fill("form[action='/account/mfa/totp/confirm'] input[name=code]", totp(secretAgain, now));
  await Promise.all([page.waitForNavigation(), page.click("form[action='/account/mfa/totp/confirm'] button")]);
  result.recoveryCodes = await page.locator("#recovery_codes li").count();
  result.onText = (await page.textContent("#two-step ~ p")) || "";
  result.widths.codes = await width(page);
  await shot(page, "two-step-codes");

  // Sign out, then in again: the second step asks for a code (the next step's: one of drift).
  await page.goto(`${base}/logout`);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  await page.goto(`${base}/login?return_to=/account`);
  await page.fill("#login", env("HANDLE"));
  await page.fill("#password", env("PASSWORD"));
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  result.secondStepShown = await page.isVisible("input[name=code]");
  result.secondStepTitle = await page.title();
  result.widths.secondStep = await width(page);
  await shot(page, "two-step-sign-in");
  await page.focus("#code");
  await page.keyboard.type(totp(secretAgain, now + 30));
  await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
  result.afterSecondStep = new URL(page.url()).pathname;
  result.secret = secretAgain;
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
