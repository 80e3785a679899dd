//! TLS with OpenSSL: the per-vhost server context and client contexts
//! (CONTRACT §8). The streams themselves live in conn::transport.

use openssl::pkey::PKey;
use openssl::ssl::{
    SslContext, SslContextBuilder, SslFiletype, SslMethod, SslOptions, SslRef, SslVerifyMode,
    SslVersion,
};

use crate::ffi::enums::lws_context_options as O;
use crate::service::context::has_option;

/// What a vhost's creation info says about TLS.
#[derive(Clone, Debug, Default)]
pub struct TlsConfig {
    pub cert: Option<String>,
    pub key: Option<String>,
    pub key_password: Option<String>,
    pub ca: Option<String>,
    pub cipher_list: Option<String>,
    pub ecdh_curve: Option<String>,
    pub options: u32,
    pub ssl_options_set: i64,
    pub ssl_options_clear: i64,
}

/// Ciphers when the application names none: OpenSSL's default, never with
/// export, RC4, NULL, anonymous or MD5 suites (which OpenSSL builds the
/// original met could still offer).
const DEFAULT_CIPHERS: &str = "DEFAULT:!aNULL:!eNULL:!EXPORT:!RC4:!MD5";

fn common(cfg: &TlsConfig, b: &mut SslContextBuilder) -> Result<(), String> {
    b.set_min_proto_version(Some(SslVersion::TLS1_2))
        .map_err(|e| e.to_string())?;
    b.set_cipher_list(cfg.cipher_list.as_deref().unwrap_or(DEFAULT_CIPHERS))
        .map_err(|e| format!("cipher list {:?}: {e}", cfg.cipher_list))?;
    let set = SslOptions::from_bits_retain(cfg.ssl_options_set as u64);
    let clear = SslOptions::from_bits_retain(cfg.ssl_options_clear as u64);
    b.set_options(set);
    b.clear_options(clear);
    Ok(())
}

/// The server context of a TLS vhost: certificate chain, private key (with
/// its password), client-certificate checks against `ca`, ciphers, ECDH.
/// Asked for each step of a client certificate's verification (the
/// X509_STORE_CTX address, OpenSSL's verdict): true to go on.
pub type ClientCertCheck = Box<dyn Fn(usize, bool) -> bool + Send + Sync>;

/// The server context for a name a client asked for by SNI, if another
/// vhost on the same port answers to it.
pub type SniSelect = Box<dyn Fn(&str) -> Option<SslContext> + Send + Sync>;

pub fn server_context(
    cfg: &TlsConfig,
    check: ClientCertCheck,
    sni: SniSelect,
) -> Result<SslContext, String> {
    let mut b = SslContext::builder(SslMethod::tls_server()).map_err(|e| e.to_string())?;
    common(cfg, &mut b)?;
    // the server's cipher order decides, as lws set it
    b.set_options(SslOptions::CIPHER_SERVER_PREFERENCE);
    if let Some(curve) = &cfg.ecdh_curve {
        b.set_groups_list(curve)
            .map_err(|e| format!("ecdh curve {curve}: {e}"))?;
    }
    let cert = cfg.cert.as_deref().ok_or("no certificate")?;
    b.set_certificate_chain_file(cert)
        .map_err(|e| format!("certificate {cert}: {e}"))?;
    // Without a key path the application provides the key at
    // OPENSSL_CONTEXT_REQUIRES_PRIVATE_KEY (see key_ready).
    if let Some(key) = cfg.key.as_deref() {
        let pem = std::fs::read(key).map_err(|e| format!("private key {key}: {e}"))?;
        let pkey = match &cfg.key_password {
            Some(pass) => PKey::private_key_from_pem_passphrase(&pem, pass.as_bytes()),
            None => PKey::private_key_from_pem(&pem),
        }
        .map_err(|e| format!("private key {key}: {e}"))?;
        b.set_private_key(&pkey)
            .map_err(|e| format!("private key {key}: {e}"))?;
        b.check_private_key()
            .map_err(|e| format!("private key does not match the certificate: {e}"))?;
    }
    if let Some(ca) = &cfg.ca {
        b.set_ca_file(ca)
            .map_err(|e| format!("CA file {ca}: {e}"))?;
    }
    if has_option(
        cfg.options,
        O::LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT,
    ) {
        let mut mode = SslVerifyMode::PEER;
        if !has_option(cfg.options, O::LWS_SERVER_OPTION_PEER_CERT_NOT_REQUIRED) {
            mode |= SslVerifyMode::FAIL_IF_NO_PEER_CERT;
        }
        b.set_verify_callback(mode, move |ok, store| {
            use foreign_types::ForeignTypeRef;
            check(store.as_ptr() as usize, ok)
        });
        b.set_session_id_context(b"lws")
            .map_err(|e| e.to_string())?;
    }
    // SNI picks the vhost's certificate as Host picks the vhost (CONTRACT
    // §8); an unknown name keeps the listener's
    b.set_servername_callback(move |ssl, _alert| {
        if let Some(other) = ssl
            .servername(openssl::ssl::NameType::HOST_NAME)
            .and_then(&sni)
        {
            let _ = ssl.set_ssl_context(&other);
        }
        Ok(())
    });
    Ok(b.build())
}

/// A client context: the OS CA store unless DISABLE_OS_CA_CERTS, plus `ca`.
pub fn client_context(cfg: &TlsConfig) -> Result<SslContext, String> {
    let mut b = SslContext::builder(SslMethod::tls_client()).map_err(|e| e.to_string())?;
    common(cfg, &mut b)?;
    if !has_option(cfg.options, O::LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS) {
        b.set_default_verify_paths().map_err(|e| e.to_string())?;
    }
    if let Some(ca) = &cfg.ca {
        b.set_ca_file(ca)
            .map_err(|e| format!("CA file {ca}: {e}"))?;
    }
    if let (Some(cert), Some(key)) = (&cfg.cert, &cfg.key) {
        b.set_certificate_chain_file(cert)
            .map_err(|e| format!("certificate {cert}: {e}"))?;
        b.set_private_key_file(key, SslFiletype::PEM)
            .map_err(|e| format!("private key {key}: {e}"))?;
    }
    b.set_verify(SslVerifyMode::PEER);
    Ok(b.build())
}

/// Lets SSL_write take part of a buffer and retry a refused record from
/// another buffer holding the same bytes: `Stream::write` reports what the
/// socket took and the connection's output buffer keeps the rest. Set on
/// each connection, so an application's provided_client_ssl_ctx gets it too.
pub fn allow_buffered_retries(ssl: &mut SslRef) {
    use foreign_types::ForeignTypeRef;
    let mode = openssl_sys::SSL_MODE_ENABLE_PARTIAL_WRITE
        | openssl_sys::SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
    // SAFETY: a live SSL; SSL_CTRL_MODE only adds flags to its mode.
    unsafe {
        openssl_sys::SSL_ctrl(
            ssl.as_ptr(),
            openssl_sys::SSL_CTRL_MODE,
            mode,
            std::ptr::null_mut(),
        );
    }
}

/// Whether the context has a private key matching its certificate (after
/// the application had the chance to load one).
pub fn key_ready(ctx: &SslContext) -> bool {
    use foreign_types::ForeignType;
    // SAFETY: a live SSL_CTX; the call only inspects it.
    unsafe { openssl_sys::SSL_CTX_check_private_key(ctx.as_ptr()) == 1 }
}
