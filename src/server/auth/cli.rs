//! `netpulse user add` and `netpulse token add`: accounts and tokens made on
//! the server's own machine, straight in its database.

use std::io::{BufRead, IsTerminal};

use crate::server::{
    auth::{
        access::{valid_name, Role, Scopes},
        accounts::AddError,
        secrets,
    },
    clock::now_ms,
    config::cli::{load_config_file, DatabaseArgs, TokenAddArgs, UserAddArgs},
    store::Store,
};

async fn open_store(database: &DatabaseArgs) -> Result<Store, u8> {
    let mut config = load_config_file(database.config.as_deref()).map_err(|error| {
        eprintln!("netpulse: {error}");
        2
    })?;
    if let Some(dir) = &database.data_dir {
        config.data_dir = dir.clone();
    }
    if let Some(url) = &database.database_url {
        config.database_url = Some(url.clone());
    }
    crate::server::store::config::validate_database_url(config.database_url.as_ref()).map_err(|error| {
        eprintln!("netpulse: {error}");
        2u8
    })?;
    Store::open_configured(&config).await.map_err(|error| {
        eprintln!("netpulse: cannot open the database: {error}");
        1
    })
}

/// The password: asked twice on a terminal, else the first line of stdin.
fn read_password() -> Result<String, String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Again: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the passwords differ".to_owned());
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| e.to_string())?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

pub async fn user_add(args: UserAddArgs) -> u8 {
    if !valid_name(&args.name) {
        eprintln!("netpulse: invalid name: 1 to 64 letters, digits, '.', '_', '-' or '@'");
        return 2;
    }
    let role: Role = match args.role.parse() {
        Ok(role) => role,
        Err(reason) => {
            eprintln!("netpulse: invalid --role: {reason}");
            return 2;
        }
    };
    let password = match read_password() {
        Ok(password) => password,
        Err(reason) => {
            eprintln!("netpulse: cannot read the password: {reason}");
            return 2;
        }
    };
    if let Err(reason) = secrets::check_password_rules(&password) {
        eprintln!("netpulse: invalid password: {reason}");
        return 2;
    }
    let store = match open_store(&args.database).await {
        Ok(store) => store,
        Err(code) => return code,
    };
    let hash = secrets::hash_password(&password);
    match store.add_user(&args.name, &hash, role, now_ms()).await {
        Ok(()) => {
            println!("created {role} {:?}", args.name);
            0
        }
        Err(AddError::Taken) => {
            eprintln!("netpulse: there is already a user called {:?}", args.name);
            1
        }
        Err(AddError::Store(error)) => {
            eprintln!("netpulse: cannot save the user: {error}");
            1
        }
    }
}

pub async fn token_add(args: TokenAddArgs) -> u8 {
    if !valid_name(&args.name) {
        eprintln!("netpulse: invalid name: 1 to 64 letters, digits, '.', '_', '-' or '@'");
        return 2;
    }
    let scopes = match Scopes::parse(&args.scopes) {
        Ok(scopes) => scopes,
        Err(reason) => {
            eprintln!("netpulse: invalid --scopes: {reason}");
            return 2;
        }
    };
    let expires_ms = match secrets::token_expiry(args.expires_days, now_ms()) {
        Ok(expires_ms) => expires_ms,
        Err(reason) => {
            eprintln!("netpulse: invalid --expires-days: {reason}");
            return 2;
        }
    };
    let store = match open_store(&args.database).await {
        Ok(store) => store,
        Err(code) => return code,
    };
    let token = secrets::new_token();
    match store.add_token(&args.name, &secrets::digest(&token), &scopes, "cli", now_ms(), expires_ms).await {
        Ok(_) => {
            // The only time the token is shown; the database keeps its hash.
            println!("{token}");
            0
        }
        Err(AddError::Taken) => {
            eprintln!("netpulse: there is already a token called {:?}", args.name);
            1
        }
        Err(AddError::Store(error)) => {
            eprintln!("netpulse: cannot save the token: {error}");
            1
        }
    }
}
