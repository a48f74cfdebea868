// The WebAuthn calls of the pages, and nothing else: "Sign in with a passkey" on /login and
// "Add a passkey" on /account. Each form names its ceremony in data-passkey; this script asks
// the server for the options, lets the browser make or use the passkey, puts the answer into the
// form's hidden fields and submits it. Without JavaScript (or WebAuthn) the sign-in button stays
// hidden, and the add form tells the server there is no answer, which says why.
const supported = typeof window.PublicKeyCredential === "function" &&
  typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function";

const say = (form, text) => {
  let line = form.querySelector(".error");
  if (!line) {
    line = document.createElement("p");
    line.className = "error";
    line.setAttribute("role", "alert");
    form.prepend(line);
  }
  line.textContent = text;
};

const start = async (form) => {
  const response = form.dataset.passkey === "register"
    ? await fetch("/account/passkeys/options", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrf_token: form.elements.csrf_token.value }),
    })
    : await fetch("/v2/auth/passkeys/login/start", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{}",
    });
  if (!response.ok) throw new Error(`the server could not start (${response.status})`);
  return response.json();
};

for (const form of document.querySelectorAll("form[data-passkey]")) {
  if (!supported) continue;
  form.closest("[hidden]")?.removeAttribute("hidden");
  form.addEventListener("submit", async (event) => {
    if (form.elements.credential.value) return;
    event.preventDefault();
    try {
      const { challengeId, publicKey } = await start(form);
      const credential = form.dataset.passkey === "register"
        ? await navigator.credentials.create({
          publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(publicKey),
        })
        : await navigator.credentials.get({
          publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(publicKey),
        });
      form.elements.challenge_id.value = challengeId;
      form.elements.credential.value = JSON.stringify(credential.toJSON());
      form.submit();
    } catch (e) {
      say(form, `No passkey was used: ${e.message || e.name}. You can try again.`);
    }
  });
}
