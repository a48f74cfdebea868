// Drives the OAuth pages of a running gharart-id in Debian's headless Chromium, as a person on a
// phone would, keyboard only: the sign-in form, then the consent page, then the answer.
// Run by tests/it/browser.rs, which starts the server and checks what this prints (one JSON line).
//
// Environment: AUTHORIZE_URL (absolute), LOGIN, PASSWORD, CALLBACK (the registered redirect URI,
// answered here without a network), DECISION (approve|deny), SHOTS (a directory for screenshots).
import { chromium } from "playwright-core";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const result = {};
try {
  const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
  const page = await context.newPage();
  const callback = env("CALLBACK");
  if (process.env.DEBUG_REQUESTS) page.on("response", (r) => console.error("response", r.status(), r.url()));
  await page.route(`${callback}**`, (route) => route.fulfill({ status: 200, contentType: "text/plain", body: "callback reached" }));

  await page.goto(env("AUTHORIZE_URL"));
  result.signInTitle = await page.title();
  result.signInLabels = await page.$$eval("label", (ls) => ls.map((l) => l.textContent.trim()));
  result.signInWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  await page.screenshot({ path: `${env("SHOTS")}/signin.png`, fullPage: true });

  // Keyboard only from the first field: type, Tab to the password, Enter submits.
  await page.focus("#login");
  await page.keyboard.type(env("LOGIN"));
  await page.keyboard.press("Tab");
  await page.keyboard.type(env("PASSWORD"));
  await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);

  result.consentTitle = await page.title();
  result.consentText = (await page.textContent("main")).replace(/\s+/g, " ").trim();
  result.consentWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  await page.screenshot({ path: `${env("SHOTS")}/consent.png`, fullPage: true });

  // Keyboard only again: Tab to the chosen button and press Enter.
  const wanted = env("DECISION") === "deny" ? "deny" : "approve";
  let reached = false;
  for (let i = 0; i < 10 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = await page.evaluate((v) => document.activeElement && document.activeElement.value === v, wanted);
  }
  result.reachedButtonByKeyboard = reached;
  const [answer] = await Promise.all([
    page.waitForRequest((req) => req.url().startsWith(callback)),
    page.keyboard.press("Enter"),
  ]);
  result.callbackUrl = answer.url();
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
