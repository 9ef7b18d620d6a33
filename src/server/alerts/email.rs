//! Email notifications over SMTP (lettre): STARTTLS, implicit TLS or plain,
//! with authentication; the delivery id becomes the Message-ID.

use lettre::{
    message::{header::ContentType, Mailbox},
    transport::smtp::{
        authentication::Credentials,
        client::{Certificate, Tls, TlsParameters},
    },
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};

use crate::server::alerts::{
    channel_config::{Channel, ChannelKind, Security},
    send::{Outgoing, SendError},
};

pub async fn send(channel: &Channel, note: &Outgoing) -> Result<(), SendError> {
    let ChannelKind::Email { host, port, security, credentials, from, to, ca } = &channel.kind else {
        return Err(SendError::Permanent("not an email channel".into()));
    };
    let mailbox = |text: &str| text.parse::<Mailbox>().map_err(|err| SendError::Permanent(format!("{text:?} is not an address: {err}")));
    let mut message = Message::builder().from(mailbox(from)?).subject(&note.title).message_id(Some(format!("<{}@netpulse>", note.delivery_id)));
    for address in to {
        message = message.to(mailbox(address)?);
    }
    let message =
        message.header(ContentType::TEXT_PLAIN).body(note.message.clone()).map_err(|err| SendError::Permanent(format!("cannot build the message: {err}")))?;
    let builder = match security {
        Security::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
        Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
        Security::Plain => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)),
    }
    .map_err(|err| SendError::Permanent(format!("cannot reach {host}: {err}")))?;
    let mut builder = builder.port(*port).timeout(Some(channel.timeout));
    if let Some(pem) = ca.as_deref().filter(|_| *security != Security::Plain) {
        // The configured CA is trusted besides the public ones, for a server with an internal certificate.
        let certificate = Certificate::from_pem(pem).map_err(|err| SendError::Permanent(format!("the CA file is not a certificate: {err}")))?;
        let parameters = TlsParameters::builder(host.clone())
            .add_root_certificate(certificate)
            .build_rustls()
            .map_err(|err| SendError::Permanent(format!("cannot set up TLS for {host}: {err}")))?;
        builder = builder.tls(if *security == Security::Tls { Tls::Wrapper(parameters) } else { Tls::Required(parameters) });
    }
    if let Some((user, password)) = credentials {
        builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
    }
    match builder.build().send(message).await {
        Ok(_) => Ok(()),
        // A permanent SMTP answer (5xx: no such mailbox, relay refused) will not change by retrying.
        Err(err) if err.is_permanent() => Err(SendError::Permanent(format!("the SMTP server refused the message: {err}"))),
        Err(err) => Err(SendError::Retry(format!("SMTP delivery to {host}:{port} failed: {err}"))),
    }
}
