//! Passkeys (WebAuthn Level 2) as a relying party, through `webauthn_rp`: the options a ceremony
//! sends to the browser, the ceremony's state kept between its start and its finish (as bytes, for
//! the database), and the checks of the browser's answer (origin, RP ID, challenge, user
//! verification, signature, signature counter). Nothing above this module names that crate; what
//! crosses it is bytes, JSON and [`PasskeyError`]'s message.

use webauthn_rp::bin::{Decode, Encode};
use webauthn_rp::request::auth::{
    AllowedCredentials, AuthenticationVerificationOptions, SignatureCounterEnforcement,
};
use webauthn_rp::request::register::{
    CredProtect, Nickname, PublicKeyCredentialUserEntity, RegistrationVerificationOptions,
    UserHandle, Username,
};
use webauthn_rp::request::{
    AsciiDomain, Credentials as _, DomainOrigin, ExtensionInfo, PublicKeyCredentialDescriptor,
    RpId, UserVerificationRequirement,
};
use webauthn_rp::response::auth::error::AuthCeremonyErr;
use webauthn_rp::response::register::{DynamicState, StaticState};
use webauthn_rp::response::{AuthTransports, Backup, CredentialId};
use webauthn_rp::{
    AuthenticatedCredential, DiscoverableAuthentication, DiscoverableAuthenticationServerState,
    DiscoverableCredentialRequestOptions, NonDiscoverableAuthentication,
    NonDiscoverableAuthenticationServerState, NonDiscoverableCredentialRequestOptions,
    PublicKeyCredentialCreationOptions, Registration, RegistrationServerState,
};

/// Bytes of a user handle: a random id per user (not the user id, so an authenticator learns
/// nothing about the account), the same for all of a user's passkeys.
pub const USER_HANDLE_LEN: usize = 16;
pub type UserHandleBytes = [u8; USER_HANDLE_LEN];
/// The part of a credential that changes with each sign-in (flags and signature counter).
pub type CredentialState = [u8; 7];

/// Why a ceremony failed: the check, in words, for `passkey_invalid`'s message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyError(pub String);

fn invalid(what: impl std::fmt::Display) -> PasskeyError {
    PasskeyError(what.to_string())
}

/// Which ceremony a stored state belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    /// Adding a passkey to a signed-in account.
    Register,
    /// A sign-in where the browser offers any passkey it holds for this site.
    Discoverable,
    /// A sign-in for one login: only that account's passkeys are allowed.
    Listed,
}

impl Ceremony {
    pub fn as_str(self) -> &'static str {
        match self {
            Ceremony::Register => "register",
            Ceremony::Discoverable => "discoverable",
            Ceremony::Listed => "listed",
        }
    }

    pub fn parse(s: &str) -> Option<Ceremony> {
        match s {
            "register" => Some(Ceremony::Register),
            "discoverable" => Some(Ceremony::Discoverable),
            "listed" => Some(Ceremony::Listed),
            _ => None,
        }
    }
}

/// A started ceremony: its state, to keep, and the options (`publicKey`) to send.
pub struct Started {
    pub state: Vec<u8>,
    pub options: serde_json::Value,
}

/// Who a passkey is made for.
pub struct PasskeyUser<'a> {
    pub handle: UserHandleBytes,
    /// The account's handle, which the authenticator shows when it offers the passkey.
    pub name: &'a str,
    pub display_name: Option<&'a str>,
}

/// A credential already stored for the user: its id and transports.
pub struct Known<'a> {
    pub id: &'a [u8],
    pub transports: u8,
}

/// A passkey that passed registration, to store.
#[derive(Debug)]
pub struct NewCredential {
    pub id: Vec<u8>,
    pub user_handle: UserHandleBytes,
    pub public_key: Vec<u8>,
    pub state: CredentialState,
    pub transports: u8,
    /// Backup eligible: a synced passkey (a software key, `amr` `swk`), not bound to one device.
    pub synced: bool,
}

/// A stored passkey, as a sign-in checks it.
pub struct StoredCredential<'a> {
    pub id: &'a [u8],
    pub user_handle: UserHandleBytes,
    pub public_key: &'a [u8],
    pub state: CredentialState,
}

/// A passkey that passed a sign-in: its new state to store.
#[derive(Debug)]
pub struct Verified {
    pub state: CredentialState,
    pub synced: bool,
}

/// A browser's answer to a sign-in, parsed but not yet checked.
pub enum Assertion {
    Discoverable(Box<DiscoverableAuthentication<USER_HANDLE_LEN>>),
    Listed(Box<NonDiscoverableAuthentication<USER_HANDLE_LEN>>),
}

impl Assertion {
    /// Parses an `AuthenticationResponseJSON` for the ceremony that was started.
    pub fn parse(ceremony: Ceremony, json: &[u8]) -> Result<Assertion, PasskeyError> {
        match ceremony {
            Ceremony::Discoverable => DiscoverableAuthentication::from_json_relaxed(json)
                .map(|a| Assertion::Discoverable(Box::new(a))),
            Ceremony::Listed => NonDiscoverableAuthentication::from_json_relaxed(json)
                .map(|a| Assertion::Listed(Box::new(a))),
            Ceremony::Register => return Err(invalid("the challenge is not a sign-in's")),
        }
        .map_err(|e| {
            invalid(format!(
                "the credential is not an AuthenticationResponseJSON: {e}"
            ))
        })
    }

    /// The credential the browser used.
    pub fn credential_id(&self) -> Vec<u8> {
        match self {
            Assertion::Discoverable(a) => a.raw_id().as_ref().to_vec(),
            Assertion::Listed(a) => a.raw_id().as_ref().to_vec(),
        }
    }
}

/// The relying party: the issuer's host as RP ID, the issuer's origin as the only origin.
pub struct RelyingParty {
    rp_id: RpId,
    origin: String,
}

impl RelyingParty {
    /// The relying party of an issuer URL (`http(s)://host[:port][/path]`).
    pub fn for_issuer(issuer: &str) -> Result<RelyingParty, PasskeyError> {
        let rest = issuer
            .strip_prefix("https://")
            .or_else(|| issuer.strip_prefix("http://"))
            .ok_or_else(|| invalid("the issuer is not an http(s) URL"))?;
        let authority = rest.split('/').next().unwrap_or_default();
        let origin = issuer[..issuer.len() - rest.len() + authority.len()].to_owned();
        let host = match authority.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            _ => authority,
        };
        let rp_id = AsciiDomain::try_from(host.to_ascii_lowercase())
            .map(RpId::Domain)
            .map_err(|e| invalid(format!("the issuer's host cannot be an RP ID: {e}")))?;
        DomainOrigin::try_from(origin.as_str())
            .map_err(|e| invalid(format!("the issuer's origin cannot be parsed: {e}")))?;
        Ok(RelyingParty { rp_id, origin })
    }

    /// The RP ID (the issuer's host).
    pub fn id(&self) -> &str {
        match &self.rp_id {
            RpId::Domain(d) => d.as_ref(),
            RpId::Url(u) => u.as_ref(),
        }
    }

    /// Starts adding a passkey: a discoverable credential, user verification required, none of
    /// `existing` again.
    pub fn start_registration(
        &self,
        user: &PasskeyUser<'_>,
        existing: &[Known<'_>],
    ) -> Result<Started, PasskeyError> {
        let handle = UserHandle::<USER_HANDLE_LEN>::decode(user.handle).map_err(invalid)?;
        let entity = PublicKeyCredentialUserEntity {
            name: Username::try_from(user.name).map_err(invalid)?,
            id: &handle,
            // A display name the Nickname profile (RFC 8266) refuses is left out, not an error.
            display_name: user.display_name.and_then(|n| Nickname::try_from(n).ok()),
        };
        let exclude = existing
            .iter()
            .map(descriptor)
            .collect::<Result<Vec<_>, _>>()?;
        let mut options = PublicKeyCredentialCreationOptions::passkey(&self.rp_id, entity, exclude);
        // Asked for, not enforced: an authenticator without credProtect (many platform ones)
        // would make the browser refuse the whole ceremony. Sign-in requires user verification
        // anyway.
        options.extensions.cred_protect =
            CredProtect::UserVerificationRequired(ExtensionInfo::AllowDontEnforceValue);
        let (server, client) = options.start_ceremony().map_err(invalid)?;
        Ok(Started {
            state: server.encode().map_err(invalid)?,
            options: serde_json::to_value(&client).map_err(invalid)?,
        })
    }

    /// Parses a `RegistrationResponseJSON` (nothing checked yet but its shape).
    pub fn parse_registration(&self, json: &[u8]) -> Result<Registration, PasskeyError> {
        Registration::from_json_relaxed(json).map_err(|e| {
            invalid(format!(
                "the credential is not a RegistrationResponseJSON: {e}"
            ))
        })
    }

    /// Checks a parsed registration answer against the started registration.
    pub fn finish_registration(
        &self,
        state: &[u8],
        response: &Registration,
    ) -> Result<NewCredential, PasskeyError> {
        let server = RegistrationServerState::<USER_HANDLE_LEN>::decode(state).map_err(invalid)?;
        let origins = [self.allowed_origin()?];
        let options = RegistrationVerificationOptions::<DomainOrigin<'_, '_>, &str> {
            allowed_origins: &origins,
            ..RegistrationVerificationOptions::default()
        };
        let credential = server
            .verify(&self.rp_id, response, &options)
            .map_err(invalid)?;
        let dynamic = credential.dynamic_state();
        Ok(NewCredential {
            id: credential.id().as_ref().to_vec(),
            user_handle: credential.user_id().encode().map_err(invalid)?,
            public_key: credential.static_state().encode().map_err(invalid)?,
            state: dynamic.encode().map_err(invalid)?,
            transports: credential.transports().encode().map_err(invalid)?,
            synced: !matches!(dynamic.backup, Backup::NotEligible),
        })
    }

    /// Starts a sign-in: for one account's passkeys (`allowed`), or for any passkey the browser
    /// holds for this site (`None`).
    pub fn start_sign_in(&self, allowed: Option<&[Known<'_>]>) -> Result<Started, PasskeyError> {
        match allowed {
            None => {
                let (server, client) = DiscoverableCredentialRequestOptions::passkey(&self.rp_id)
                    .start_ceremony()
                    .map_err(invalid)?;
                Ok(Started {
                    state: server.encode().map_err(invalid)?,
                    options: serde_json::to_value(&client).map_err(invalid)?,
                })
            }
            Some(known) => {
                let mut list = AllowedCredentials::with_capacity(known.len());
                for k in known {
                    list.push(descriptor(k)?.into());
                }
                let mut options =
                    NonDiscoverableCredentialRequestOptions::second_factor(&self.rp_id, list)
                        .map_err(invalid)?;
                // A passkey is a whole sign-in, so it proves the user, not only their presence.
                options.options().user_verification = UserVerificationRequirement::Required;
                let (server, client) = options.start_ceremony().map_err(invalid)?;
                Ok(Started {
                    state: server.encode().map_err(invalid)?,
                    options: serde_json::to_value(&client).map_err(invalid)?,
                })
            }
        }
    }

    /// Checks a sign-in's answer against its started ceremony and the stored credential it names:
    /// origin, RP ID, challenge, user verification, signature, and a signature counter that moved
    /// forward (a clone's does not).
    pub fn finish_sign_in(
        &self,
        state: &[u8],
        assertion: &Assertion,
        stored: &StoredCredential<'_>,
    ) -> Result<Verified, PasskeyError> {
        let handle = UserHandle::<USER_HANDLE_LEN>::decode(stored.user_handle).map_err(invalid)?;
        let id = CredentialId::<&[u8]>::decode(stored.id).map_err(invalid)?;
        let public_key = StaticState::decode(stored.public_key).map_err(invalid)?;
        let dynamic = DynamicState::decode(stored.state).map_err(invalid)?;
        let mut credential =
            AuthenticatedCredential::new(id, &handle, public_key, dynamic).map_err(invalid)?;
        let origins = [self.allowed_origin()?];
        let options = AuthenticationVerificationOptions::<DomainOrigin<'_, '_>, &str> {
            allowed_origins: &origins,
            sig_counter_enforcement: SignatureCounterEnforcement::Fail,
            ..AuthenticationVerificationOptions::default()
        };
        match assertion {
            Assertion::Discoverable(a) => DiscoverableAuthenticationServerState::decode(state)
                .map_err(invalid)?
                .verify(&self.rp_id, a, &mut credential, &options),
            Assertion::Listed(a) => NonDiscoverableAuthenticationServerState::decode(state)
                .map_err(invalid)?
                .verify(&self.rp_id, a, &mut credential, &options),
        }
        .map_err(|e| match e {
            AuthCeremonyErr::SignatureCounter => invalid(
                "the signature counter did not move past the last sign-in's, so this may be a \
                 copy of the passkey (a clone)",
            ),
            other => invalid(other),
        })?;
        let dynamic = credential.dynamic_state();
        Ok(Verified {
            state: dynamic.encode().map_err(invalid)?,
            synced: !matches!(dynamic.backup, Backup::NotEligible),
        })
    }

    fn allowed_origin(&self) -> Result<DomainOrigin<'_, '_>, PasskeyError> {
        DomainOrigin::try_from(self.origin.as_str()).map_err(invalid)
    }
}

/// The user handle a discoverable sign-in's answer names (`None` for a listed one).
pub fn user_handle_of(assertion: &Assertion) -> Option<UserHandleBytes> {
    match assertion {
        Assertion::Discoverable(a) => a.response().user_handle().encode().ok(),
        Assertion::Listed(a) => a.response().user_handle().and_then(|h| h.encode().ok()),
    }
}

/// A fresh random user handle.
pub fn new_user_handle() -> Result<UserHandleBytes, crate::core::token::opaque::RandomUnavailable> {
    crate::core::token::opaque::random_bytes::<USER_HANDLE_LEN>()
}

fn descriptor(known: &Known<'_>) -> Result<PublicKeyCredentialDescriptor<Vec<u8>>, PasskeyError> {
    Ok(PublicKeyCredentialDescriptor {
        id: CredentialId::<Vec<u8>>::decode(known.id.to_vec()).map_err(invalid)?,
        transports: AuthTransports::decode(known.transports).map_err(invalid)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rp_id_is_the_issuers_host_and_the_origin_its_origin() {
        let rp = RelyingParty::for_issuer("http://localhost:8080/base").unwrap();
        assert_eq!(rp.id(), "localhost");
        assert_eq!(rp.origin, "http://localhost:8080");
        let rp = RelyingParty::for_issuer("https://ID.Gharart.com").unwrap();
        assert_eq!(rp.id(), "id.gharart.com");
        assert_eq!(rp.origin, "https://ID.Gharart.com");
        assert!(RelyingParty::for_issuer("ftp://x").is_err());
    }

    #[test]
    fn options_name_the_rp_and_ask_for_user_verification() {
        let rp = RelyingParty::for_issuer("http://localhost:8080").unwrap();
        let user = PasskeyUser {
            handle: [7; USER_HANDLE_LEN],
            name: "ada",
            display_name: Some("Ada L."),
        };
        let started = rp.start_registration(&user, &[]).unwrap();
        assert_eq!(started.options["rp"]["id"], "localhost");
        assert_eq!(started.options["user"]["name"], "ada");
        assert_eq!(
            started.options["authenticatorSelection"]["userVerification"],
            "required"
        );
        assert_eq!(
            started.options["authenticatorSelection"]["residentKey"],
            "required"
        );
        let sign_in = rp.start_sign_in(None).unwrap();
        assert_eq!(sign_in.options["userVerification"], "required");
        // A state that is not one fails as a check, not as a panic.
        assert!(rp.parse_registration(b"{}").is_err());
    }
}
