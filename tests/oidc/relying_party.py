"""A relying party and a resource server nobody here wrote: authlib's OAuth 2.0 / OpenID Connect
client does discovery, the code flow with PKCE and a nonce, validates the id_token (signature
with the JWKS, iss, aud, exp, nonce, at_hash) with authlib's own CodeIDToken rules, calls
userinfo and refreshes; PyJWT's PyJWKClient verifies a resource-bound access token with the
JWKS alone. The sign-in and consent pages are filled in over HTTP as a browser would.

Run by tests/it/oidc_clients.rs, which starts the server; prints one JSON line.
Environment: ISSUER, CLIENT_ID, CLIENT_SECRET, MACHINE_ID, MACHINE_SECRET, REDIRECT_URI, LOGIN,
PASSWORD, RESOURCE.
"""
import json
import os
import re
import sys
from urllib.parse import urljoin

import jwt
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey
from authlib.jose import jwt as authlib_jwt
from authlib.oidc.core import CodeIDToken

env = os.environ.__getitem__
issuer = env("ISSUER")


def hidden(html, name):
    match = re.search(r'name="%s" value="([^"]*)"' % re.escape(name), html)
    if not match:
        sys.exit(f"no hidden {name} in the page:\n{html[:2000]}")
    return match.group(1).replace("&amp;", "&")


def sign_in_and_consent(authorize_url):
    """The browser's part: sign in, approve, and return the callback URL."""
    browser = requests.Session()
    page = browser.get(authorize_url, allow_redirects=False)
    assert page.status_code == 200, page.text
    signed_in = browser.post(
        urljoin(issuer, "/login"),
        data={
            "csrf_token": hidden(page.text, "csrf_token"),
            "return_to": hidden(page.text, "return_to"),
            "login": env("LOGIN"),
            "password": env("PASSWORD"),
        },
        allow_redirects=False,
    )
    assert signed_in.status_code == 303, signed_in.text
    consent = browser.get(urljoin(issuer, signed_in.headers["Location"]), allow_redirects=False)
    assert consent.status_code == 200, consent.text
    decided = browser.post(
        urljoin(issuer, "/oauth/authorize/decision"),
        data={
            "csrf_token": hidden(consent.text, "csrf_token"),
            "request_id": hidden(consent.text, "request_id"),
            "decision": "approve",
        },
        allow_redirects=False,
    )
    assert decided.status_code == 303, decided.text
    return decided.headers["Location"]


def validated_id_token(id_token, jwks, nonce, access_token):
    claims = authlib_jwt.decode(
        id_token,
        JsonWebKey.import_key_set(jwks),
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": issuer}},
        claims_params={"nonce": nonce, "client_id": env("CLIENT_ID"), "access_token": access_token},
    )
    claims.validate()
    return dict(claims)


result = {}
metadata = requests.get(urljoin(issuer, "/.well-known/openid-configuration")).json()
result["discovered"] = metadata["issuer"] == issuer
jwks = requests.get(metadata["jwks_uri"]).json()

client = OAuth2Session(
    env("CLIENT_ID"),
    env("CLIENT_SECRET"),
    scope="openid profile email offline_access",
    redirect_uri=env("REDIRECT_URI"),
    code_challenge_method="S256",
    token_endpoint_auth_method="client_secret_basic",
)
verifier = generate_token(48)
nonce = generate_token(20)
url, state = client.create_authorization_url(
    metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
)
callback = sign_in_and_consent(url)
token = client.fetch_token(
    metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier
)
claims = validated_id_token(token["id_token"], jwks, nonce, token["access_token"])
result["id_token"] = {k: claims.get(k) for k in ["sub", "nonce", "amr", "preferred_username", "email"]}
result["userinfo"] = client.get(metadata["userinfo_endpoint"]).json()

refreshed = client.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"])
again = validated_id_token(refreshed["id_token"], jwks, None, refreshed["access_token"])
result["refreshed_sub"] = again["sub"]
result["refreshed_nonce"] = again.get("nonce")

# PyJWT checks the same id_token with the JWKS, and a resource server its resource token.
keys = jwt.PyJWKClient(metadata["jwks_uri"])
result["pyjwt_id_token_sub"] = jwt.decode(
    token["id_token"],
    keys.get_signing_key_from_jwt(token["id_token"]).key,
    algorithms=["RS256", "ES256"],
    audience=env("CLIENT_ID"),
    issuer=issuer,
)["sub"]
machine = requests.post(
    metadata["token_endpoint"],
    data={"grant_type": "client_credentials", "resource": env("RESOURCE")},
    auth=(env("MACHINE_ID"), env("MACHINE_SECRET")),
).json()
bound = machine["access_token"]
result["resource_claims"] = jwt.decode(
    bound,
    keys.get_signing_key_from_jwt(bound).key,
    algorithms=["ES256", "RS256"],
    audience=env("RESOURCE"),
    issuer=issuer,
)
result["resource_header"] = jwt.get_unverified_header(bound)
try:
    jwt.decode(
        bound,
        keys.get_signing_key_from_jwt(bound).key,
        algorithms=["ES256"],
        audience="https://someone-else.example",
        issuer=issuer,
    )
    result["wrong_audience_refused"] = False
except jwt.InvalidAudienceError:
    result["wrong_audience_refused"] = True
print(json.dumps(result))
