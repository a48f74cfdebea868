// Drives the self-service pages of a running `gharart-id demo` in Debian's headless Chromium on
// a 375 px screen: sign up by keyboard, confirm with the code from the demo mailbox, sign in,
// create and revoke a personal access token, revoke an API session and see the API refuse its
// token, and walk the demo OAuth flow. Run by tests/it/browser.rs; prints one JSON line.
//
// Environment: BASE_URL, HANDLE, PASSWORD, SHOTS (a directory for screenshots).
import { chromium } from "playwright-core";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const base = env("BASE_URL");
const handle = env("HANDLE");
const password = env("PASSWORD");
const email = `${handle}@example.com`;
const shot = (page, name) => page.screenshot({ path: `${env("SHOTS")}/${name}.png`, fullPage: true });
const width = (page) => page.evaluate(() => document.documentElement.scrollWidth);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const result = { widths: {} };
try {
  const context = await browser.newContext({ viewport: { width: 375, height: 800 } });
  const page = await context.newPage();

  await page.goto(`${base}/`);
  result.widths.home = await width(page);
  await shot(page, "home");

  // Sign up by keyboard only.
  await page.goto(`${base}/signup`);
  await page.focus("#handle");
  await page.keyboard.type(handle);
  await page.keyboard.press("Tab");
  await page.keyboard.type(email);
  await page.keyboard.press("Tab");
  await page.keyboard.type("Bauble Tester");
  await page.keyboard.press("Tab");
  await page.keyboard.type(password);
  await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
  result.afterSignup = new URL(page.url()).pathname;
  result.widths.confirm = await width(page);
  await shot(page, "confirm");

  // The code, from the demo mailbox.
  const mail = await context.newPage();
  await mail.goto(`${base}/demo/mailbox`);
  const code = await mail.evaluate((to) => {
    const item = [...document.querySelectorAll("li")].find((li) => li.textContent.includes(`To ${to}`));
    return item && item.querySelector("code.code").textContent;
  }, email);
  await shot(mail, "mailbox");
  await mail.close();
  result.codeFound = /^[0-9]{6}$/.test(code || "");
  await page.focus("#code");
  await page.keyboard.type(code);
  await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
  result.confirmedTitle = await page.title();

  // Sign in, then the account page.
  await page.goto(`${base}/login?return_to=/account`);
  await page.fill("#login", handle);
  await page.fill("#password", password);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  result.accountPath = new URL(page.url()).pathname;
  result.widths.account = await width(page);
  await shot(page, "account");

  // A personal access token: created, shown once with its copy button, then revoked.
  await page.fill("#name", "browser-test");
  await Promise.all([page.waitForNavigation(), page.click("form[action='/account/tokens'] button[type=submit]")]);
  result.patToken = await page.inputValue("#new_token");
  result.copyButtonVisible = await page.isVisible("button[data-copy-target]");
  await shot(page, "token");
  const meWithPat = await fetch(`${base}/v2/auth/me`, { headers: { Authorization: `Bearer ${result.patToken}` } });
  result.patWorks = meWithPat.status;
  await Promise.all([page.waitForNavigation(), page.click("form[action='/account/tokens/revoke'] button[type=submit]")]);
  result.afterPatRevoke = (await page.textContent("main")).includes("The token is revoked.");
  const meAfterPat = await fetch(`${base}/v2/auth/me`, { headers: { Authorization: `Bearer ${result.patToken}` } });
  result.patAfterRevoke = meAfterPat.status;

  // An API session, revoked from the page; the API then refuses its token.
  const login = await fetch(`${base}/v2/auth/login`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ login: handle, password }),
  }).then((r) => r.json());
  await page.reload();
  const row = page.locator("li", { hasText: login.sessionId });
  await Promise.all([page.waitForNavigation(), row.locator("button[type=submit]").click()]);
  const meAfter = await fetch(`${base}/v2/auth/me`, { headers: { Authorization: `Bearer ${login.accessToken}` } });
  result.revokedSessionStatus = meAfter.status;
  result.revokedSessionCode = (await meAfter.json()).error.code;

  // The demo OAuth flow, end to end.
  await page.goto(`${base}/`);
  await Promise.all([page.waitForNavigation(), page.click("text=Try the OAuth flow")]);
  result.consentShown = (await page.textContent("main")).includes("Campaign Planner (demo)");
  await shot(page, "demo-consent");
  await Promise.all([page.waitForNavigation(), page.click("button[value=approve]")]);
  result.callbackPath = new URL(page.url()).pathname;
  result.claims = JSON.parse(await page.textContent("#claims"));
  result.widths.callback = await width(page);
  await shot(page, "demo-callback");
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
