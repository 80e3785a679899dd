//! HTTP/1.x server side: request parsing, the header table, responses and
//! form bodies.

pub mod forms;
pub mod headers;
pub mod html_subst;
pub mod mime;
pub mod request;
pub mod response;
pub mod tokens;
pub mod uri;
