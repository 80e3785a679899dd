//! WebSocket extensions. permessage-deflate (RFC 7692) is the one lws 2.0
//! applications register; it is built in: negotiation (`negotiate`), the
//! option table applications set (`options`) and the per-message
//! compression stage (`deflate`), all free of I/O.

pub mod deflate;
pub mod negotiate;
pub mod options;

/// The extension's registered name.
pub const PM_DEFLATE: &str = "permessage-deflate";

/// An extension the application listed (`struct lws_extension`), as the
/// core keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declared {
    pub name: Vec<u8>,
    /// what a client offers (`client_offer`), e.g.
    /// `permessage-deflate; client_max_window_bits`
    pub client_offer: Vec<u8>,
}

impl Declared {
    /// Whether this is permessage-deflate, the extension we implement.
    pub fn is_pm_deflate(&self) -> bool {
        self.name.eq_ignore_ascii_case(PM_DEFLATE.as_bytes())
    }
}
