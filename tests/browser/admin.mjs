// Drives the team console (/admin) of a running server in Debian's headless Chromium, on a 375 px
// screen, with JavaScript turned off (the console must work without it): sign in by keyboard,
// filter the team by state, a bulk resend of two invitations, a row's disable and enable, groups,
// role, session revocation and second-factor reset, a bulk group change, a CSV import (upload, preview, apply, progress), an OAuth client's removal, a support
// report with its request record and audit rows, the audit log filtered; then a forged form and a
// member, both refused. Run by tests/it/admin.rs; prints one JSON line.
//
// Environment: BASE_URL, ADMIN, MEMBER, PASSWORD, CSV (a file to import), SHOTS.
import { chromium } from "playwright-core";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const base = env("BASE_URL");
const shots = env("SHOTS");
const shot = (page, name) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
// Scroll width without running a script in the page (JavaScript is off): the layout viewport's
// content size, from the DevTools protocol.
const width = async (page) => {
  const cdp = await page.context().newCDPSession(page);
  const metrics = await cdp.send("Page.getLayoutMetrics");
  await cdp.detach();
  return Math.ceil(metrics.cssContentSize.width);
};
const text = (page) => page.locator("main").innerText();

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const result = { widths: {} };
const signIn = async (context, login) => {
  const page = await context.newPage();
  await page.goto(`${base}/admin`);
  result.signInPath ??= new URL(page.url()).pathname;
  await page.focus("#login");
  await page.keyboard.type(login);
  await page.keyboard.press("Tab");
  await page.keyboard.type(env("PASSWORD"));
  const [response] = await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
  return { page, response };
};
try {
  const context = await browser.newContext({ viewport: { width: 375, height: 800 }, javaScriptEnabled: false });
  const { page } = await signIn(context, env("ADMIN"));
  result.afterSignIn = new URL(page.url()).pathname;
  result.widths.team = await width(page);
  await shot(page, "admin-team");

  // Filter by state, by keyboard.
  await page.focus("#state");
  await page.selectOption("#state", "invited");
  await Promise.all([page.waitForNavigation(), page.click("form[action='/admin'] button")]);
  result.filteredUrl = page.url();
  result.filtered = await page.locator("ul.rows > li").count();

  // Bulk resend to the two invited people.
  await page.check("input[name=handle][value=tinsel]");
  await page.check("input[name=handle][value=garland]");
  await page.selectOption("#bulk_action", "resend");
  await Promise.all([page.waitForNavigation(), page.click("button[name=bulk]")]);
  result.bulkNotice = await page.locator("section.notice").innerText();
  await shot(page, "admin-bulk");

  // A row's own buttons: disable, enable, groups.
  await page.goto(`${base}/admin`);
  await Promise.all([page.waitForNavigation(), page.click("button[value='disable:ivy']")]);
  result.disableNotice = await page.locator("section.notice").innerText();
  await Promise.all([page.waitForNavigation(), page.click("button[value='enable:ivy']")]);
  await page.fill("#groups_ivy", "crew elves");
  await Promise.all([page.waitForNavigation(), page.click("button[value='set_groups:ivy']")]);
  result.groupsNotice = await page.locator("section.notice").innerText();
  result.widths.actions = await width(page);
  const row = async (value) => {
    await Promise.all([page.waitForNavigation(), page.click(`button[value='${value}']`)]);
    return page.locator("section.notice").innerText();
  };
  result.promoted = await row("set_role=admin:ivy");
  result.demoted = await row("set_role=member:ivy");
  result.revoked = await row("revoke_sessions:ivy");
  result.reset = await row("reset_second_factors:ivy");
  // Bulk: a group added to, then removed from, every checked row.
  const bulk = async (action, value, handles) => {
    for (const h of handles) await page.check(`input[name=handle][value=${h}]`);
    await page.selectOption("#bulk_action", action);
    await page.fill("#bulk_value", value);
    await Promise.all([page.waitForNavigation(), page.click("button[name=bulk]")]);
    return page.locator("section.notice").innerText();
  };
  result.bulkAdd = await bulk("add_group", "night-shift", ["ivy", "tinsel"]);
  result.bulkRemove = await bulk("remove_group", "night-shift", ["tinsel"]);

  // Import: upload, preview, apply, progress.
  await page.goto(`${base}/admin/import`);
  result.widths.import = await width(page);
  await page.setInputFiles("#file", env("CSV"));
  await Promise.all([page.waitForNavigation(), page.click("form[action='/admin/import'] button")]);
  result.preview = await text(page);
  result.widths.preview = await width(page);
  await shot(page, "admin-preview");
  await Promise.all([page.waitForNavigation(), page.click("form[action$='/apply'] button")]);
  result.progressPath = new URL(page.url()).pathname;
  await page.locator("p.notice", { hasText: "invited," }).waitFor({ timeout: 60000 });
  result.applied = await page.locator("p.notice").innerText();
  await shot(page, "admin-applied");

  // OAuth clients: remove the one there is.
  await page.goto(`${base}/admin/clients`);
  result.clientsBefore = await page.locator("form[action='/admin/clients/remove']").count();
  await Promise.all([page.waitForNavigation(), page.click("form[action='/admin/clients/remove'] button")]);
  result.clientsNotice = await page.locator("p.notice").innerText();
  result.clientsAfter = await page.locator("form[action='/admin/clients/remove']").count();
  result.widths.clients = await width(page);

  // Support reports: the report, its request record, its audit rows.
  await page.goto(`${base}/admin/reports`);
  await Promise.all([page.waitForNavigation(), page.click("ul.rows a")]);
  result.report = await text(page);
  result.widths.report = await width(page);
  await shot(page, "admin-report");

  // The audit log, filtered by event.
  await page.goto(`${base}/admin/audit`);
  await page.fill("#event", "user_disabled");
  await Promise.all([page.waitForNavigation(), page.click("form[action='/admin/audit'] button")]);
  result.audit = await text(page);
  result.widths.audit = await width(page);
  await shot(page, "admin-audit");

  // A forged form, with the admin's own cookies: refused.
  const forged = await context.request.post(`${base}/admin/team`, {
    form: { csrf_token: "forged", row: "disable:ivy" },
    maxRedirects: 0,
  });
  result.forgedStatus = forged.status();

  // A member signs in and is refused the console.
  const memberContext = await browser.newContext({ viewport: { width: 375, height: 800 } });
  const member = await signIn(memberContext, env("MEMBER"));
  result.memberStatus = member.response.status();
  result.memberText = await text(member.page);
  result.widths.forbidden = await width(member.page);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
