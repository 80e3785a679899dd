//! HTTP/1.x server side: request parsing, the header table, responses and
//! form bodies, CGI environments and script output heads.

pub mod cgi;
pub mod forms;
pub mod headers;
pub mod html_subst;
pub mod mime;
pub mod request;
pub mod response;
pub mod tokens;
pub mod uri;
