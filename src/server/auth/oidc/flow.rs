//! The two legs of the authorization code flow: the provider's address to
//! send the browser to, and, when it comes back, the code exchanged (with
//! the PKCE verifier), the ID token checked and the claims gathered.

use std::time::{Duration, Instant};

use openidconnect::{
    core::{CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata},
    AdditionalClaims, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdToken,
    IdTokenClaims, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Oidc, OidcError};

/// How long the provider's metadata and keys are kept before being read again.
const METADATA_FOR: Duration = Duration::from_secs(3600);
/// How long after a failed read the provider is not asked again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);
/// How often a token signed with an unknown key may make the keys be read again.
const FRESH_AT_MOST_EVERY: Duration = Duration::from_secs(60);

/// The provider's metadata as last read, and when reading it last failed.
#[derive(Default)]
pub struct Metadata {
    known: Option<(CoreProviderMetadata, Instant)>,
    failed: Option<Instant>,
}

/// Every claim the provider sends, whatever its name: the groups claim is rarely a standard one.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
struct AnyClaims {
    #[serde(flatten)]
    other: Map<String, Value>,
}

impl AdditionalClaims for AnyClaims {}

type FullIdToken = IdToken<AnyClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

/// A client made from discovered metadata: the token and user info endpoints may be absent.
type ProviderClient = CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// A sign-in the provider vouched for.
pub struct Finished {
    /// The provider's issuer and subject, joined by a space: whom the account belongs to.
    pub person: String,
    /// Every claim of the checked ID token and of the user info.
    pub claims: Map<String, Value>,
    /// Where to go next.
    pub next: String,
}

/// Logs why the provider's answer was not accepted; the page says only that it was not.
fn bad_answer(what: &'static str, error: impl std::fmt::Display) -> OidcError {
    tracing::warn!(%error, "single sign-on: {what}");
    OidcError::BadAnswer
}

impl Oidc {
    /// The provider's metadata, read from its discovery document at most once an hour,
    /// or when `fresh` asks after its keys failed a token's signature (at most once a minute).
    /// One read at a time, and no lock is held while it is under way: others use the copy
    /// there is, and only with none at all wait for the read. After a failed read the
    /// provider is left alone for a few seconds.
    async fn metadata(&self, fresh: bool) -> Result<CoreProviderMetadata, OidcError> {
        let wanted = if fresh { FRESH_AT_MOST_EVERY } else { METADATA_FOR };
        let (current, stale) = self.cached_metadata(wanted);
        if let Some(metadata) = current {
            return Ok(metadata);
        }
        let _reading = match (self.metadata_read.try_lock(), &stale) {
            (Ok(guard), _) => guard,
            (Err(_), Some(stale)) => return Ok(stale.clone()),
            (Err(_), None) => self.metadata_read.lock().await,
        };
        // The read just finished by another sign-in may have brought what is wanted.
        let (current, stale) = self.cached_metadata(wanted);
        if let Some(metadata) = current {
            return Ok(metadata);
        }
        if self.metadata.lock().unwrap_or_else(|p| p.into_inner()).failed.is_some_and(|at| at.elapsed() < RETRY_AFTER_FAILURE) {
            return stale.ok_or(OidcError::Unreachable);
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone()).map_err(|_| OidcError::Unreachable)?;
        let read = CoreProviderMetadata::discover_async(issuer, &self.http).await;
        let mut cached = self.metadata.lock().unwrap_or_else(|p| p.into_inner());
        match read {
            Ok(metadata) => {
                *cached = Metadata { known: Some((metadata.clone(), Instant::now())), failed: None };
                Ok(metadata)
            }
            Err(error) => {
                tracing::warn!(error = %error, issuer = %self.config.issuer, "single sign-on: cannot read the provider's discovery document");
                cached.failed = Some(Instant::now());
                stale.ok_or(OidcError::Unreachable)
            }
        }
    }

    /// The cached metadata if younger than `wanted`, and whatever copy there is.
    fn cached_metadata(&self, wanted: Duration) -> (Option<CoreProviderMetadata>, Option<CoreProviderMetadata>) {
        let cached = self.metadata.lock().unwrap_or_else(|p| p.into_inner());
        let copy = cached.known.as_ref().map(|(metadata, _)| metadata.clone());
        let current = cached.known.as_ref().filter(|(_, read)| read.elapsed() < wanted).map(|(metadata, _)| metadata.clone());
        (current, copy)
    }

    fn client(&self, metadata: CoreProviderMetadata) -> Result<ProviderClient, OidcError> {
        let secret = self.config.client_secret.as_ref().map(|secret| ClientSecret::new(secret.expose().to_owned()));
        let redirect = RedirectUrl::new(self.config.redirect_url.clone()).map_err(|_| OidcError::BadAnswer)?;
        Ok(CoreClient::from_provider_metadata(metadata, ClientId::new(self.config.client_id.clone()), secret).set_redirect_uri(redirect))
    }

    /// The provider's sign-in address and the `state` that the browser's cookie must carry back.
    pub async fn start(&self, from: std::net::IpAddr, next: String) -> Result<(String, String), OidcError> {
        let client = self.client(self.metadata(false).await?)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = Nonce::new_random();
        let state = self.wait_for(from, verifier.secret().clone(), nonce.secret().clone(), next);
        let (kept_state, kept_nonce) = (state.clone(), nonce.clone());
        let scopes = self.config.scopes.iter().map(|scope| Scope::new(scope.clone()));
        let (url, _, _) = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, move || CsrfToken::new(kept_state), move || kept_nonce)
            .add_scopes(scopes)
            .set_pkce_challenge(challenge)
            .url();
        Ok((url.to_string(), state))
    }

    /// Finishes the sign-in `state` names with the provider's `code`.
    pub async fn finish(&self, state: &str, code: &str) -> Result<Finished, OidcError> {
        let waiting = self.take(state)?;
        self.exchange(waiting, code).await
    }

    async fn exchange(&self, waiting: super::Waiting, code: &str) -> Result<Finished, OidcError> {
        let mut client = self.client(self.metadata(false).await?)?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|error| bad_answer("the provider has no token endpoint", error))?
            .set_pkce_verifier(PkceCodeVerifier::new(waiting.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|error| match &error {
                openidconnect::RequestTokenError::ServerResponse(response) => OidcError::Refused(response.error().to_string()),
                _ => bad_answer("the token request failed", error),
            })?;
        let id_token = tokens.id_token().ok_or_else(|| bad_answer("no ID token", "the token response has none"))?;
        let id_token: FullIdToken = id_token.to_string().parse().map_err(|error| bad_answer("the ID token is not a JWT", error))?;
        let nonce = Nonce::new(waiting.nonce.clone());
        let check = |client: &ProviderClient| id_token.claims(&client.id_token_verifier(), &nonce).cloned();
        let checked: IdTokenClaims<AnyClaims, CoreGenderClaim> = match check(&client) {
            Ok(claims) => claims,
            // The provider may have rotated its signing keys since they were read: read them again, once.
            Err(ClaimsVerificationError::SignatureVerification(_)) => {
                client = self.client(self.metadata(true).await?)?;
                check(&client).map_err(|error| bad_answer("the ID token did not check", error))?
            }
            Err(error) => return Err(bad_answer("the ID token did not check", error)),
        };
        let mut claims = match serde_json::to_value(&checked) {
            Ok(Value::Object(claims)) => claims,
            _ => return Err(bad_answer("the ID token's claims", "are not an object")),
        };
        // Providers often send groups and names only from the user info endpoint.
        if let Ok(request) = client.user_info(tokens.access_token().clone(), Some(checked.subject().clone())) {
            let info: UserInfoClaims<AnyClaims, CoreGenderClaim> =
                request.request_async(&self.http).await.map_err(|error| bad_answer("the user info request failed", error))?;
            if let Ok(Value::Object(more)) = serde_json::to_value(&info) {
                claims.extend(more);
            }
        }
        let person = format!("{} {}", checked.issuer().as_str(), checked.subject().as_str());
        Ok(Finished { person, claims, next: waiting.next })
    }
}
