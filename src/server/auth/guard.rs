//! The refusals handlers give: 401 when signing in could help, 403 when the
//! caller is known and may not. Every check goes through `Access::may`.

use crate::server::{
    auth::{
        access::{Action, Caller},
        caller::{token_caller, Credentials},
    },
    http::error::ApiError,
    AppState,
};

fn refuse(caller: &Caller, what: String) -> ApiError {
    if *caller == Caller::Anonymous {
        ApiError::Unauthorized(format!("sign in, or send a bearer token, to {what}"))
    } else {
        ApiError::Forbidden(format!("{} may not {what}", caller.label()))
    }
}

pub fn require(state: &AppState, caller: &Caller, series: &str, action: Action) -> Result<(), ApiError> {
    if state.auth.access().may(caller, series, action) {
        return Ok(());
    }
    let verb = match action {
        Action::Read => "read",
        Action::Publish => "publish on",
    };
    Err(refuse(caller, format!("{verb} {series}")))
}

/// Silencing alerts, testing a channel, previewing a template.
pub fn require_operate(caller: &Caller) -> Result<(), ApiError> {
    if caller.may_operate() {
        Ok(())
    } else {
        Err(refuse(caller, "silence alerts or run tests (an editor's or admin's right)".to_owned()))
    }
}

/// The caller of a page's form: a token typed into it, else the session's.
pub async fn form_caller(state: &AppState, session: Result<Caller, ApiError>, typed_token: Option<&str>) -> Result<Caller, ApiError> {
    match typed_token.map(str::trim).filter(|t| !t.is_empty()) {
        Some(token) => match token_caller(state, token).await? {
            Credentials::Valid(caller) => Ok(caller),
            Credentials::Stale(reason) => Err(ApiError::Unauthorized(reason.to_owned())),
        },
        None => session,
    }
}
