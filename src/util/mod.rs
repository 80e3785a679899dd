//! The string and encoding helpers behind the utility exports: URL, SQL and
//! JSON escaping, in-place URI splitting, base64 and SHA-1.

pub mod b64;
pub mod digest;
pub mod escape;
pub mod uri;
