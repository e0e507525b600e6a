//! How a JSON request names a code: `code`, the scanned URI, or else `gtin` and `serial` as
//! typed. [`naming_a_code!`] gives a request those three fields with their schema, written once;
//! [`NamedCode`] is what they say, or `400 invalid_code`.

use registry::CodeKey;
use signer::DigitalLink;

use crate::error::ApiError;

/// Declares a request struct whose first fields are `code`, `gtin` and `serial`, followed by its
/// own, and its `named_code()`. The fields are the request's own rather than a flattened struct:
/// serde cannot deny unknown fields through a flattened one.
macro_rules! naming_a_code {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($fields:tt)*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            /// The scanned GS1 Digital Link (`https://host/01/{gtin}[/10/{lot}]/21/{serial}?k=..&s=..`,
            /// or its path and query: at least `/01/{gtin}/21/{serial}`, 23 characters); or else
            /// `gtin` and `serial`.
            #[schema(
                format = "gs1-digital-link",
                min_length = 23,
                max_length = 2048,
                pattern = "/01/"
            )]
            pub code: Option<String>,
            /// GTIN-14 with its check digit (surrounding whitespace is ignored).
            #[schema(format = "gtin", pattern = r"^[ \t\r\n]*[0-9]{14}[ \t\r\n]*$")]
            pub gtin: Option<String>,
            /// 1 to 20 characters of GS1 character set 82 (surrounding whitespace is ignored).
            #[schema(pattern = r#"^[ \t\r\n]*[!"%-?A-Z_a-z]{1,20}[ \t\r\n]*$"#)]
            pub serial: Option<String>,
            $($fields)*
        }

        impl $name {
            /// The code this request names, as it names it.
            pub fn named_code(&self) -> Result<$crate::routes::named_code::NamedCode<'_>, $crate::error::ApiError> {
                $crate::routes::named_code::NamedCode::of(&self.code, &self.gtin, &self.serial)
            }
        }
    };
}

pub(crate) use naming_a_code;

/// A code as a request names it.
pub enum NamedCode<'a> {
    /// The scanned URI, as sent.
    Scanned(&'a str),
    /// Typed numbers, as sent (surrounding whitespace is ignored when they are read).
    Typed { gtin: &'a str, serial: &'a str },
}

impl<'a> NamedCode<'a> {
    /// Either the URI alone, or GTIN and serial together; anything else is `400 invalid_code`.
    pub fn of(
        code: &'a Option<String>,
        gtin: &'a Option<String>,
        serial: &'a Option<String>,
    ) -> Result<Self, ApiError> {
        match (code, gtin, serial) {
            (Some(code), None, None) => Ok(NamedCode::Scanned(code)),
            (None, Some(gtin), Some(serial)) => Ok(NamedCode::Typed { gtin, serial }),
            _ => Err(ApiError::bad_request(
                "invalid_code",
                "give either \"code\" (the scanned URI) or \"gtin\" and \"serial\"",
            )),
        }
    }

    /// The code's key, whatever names it; a bad URI, GTIN or serial is `400 invalid_code`.
    pub fn key(&self) -> Result<CodeKey, ApiError> {
        match self {
            NamedCode::Scanned(uri) => Ok(CodeKey::of(&scanned_link(uri)?.part)),
            NamedCode::Typed { gtin, serial } => typed_key(gtin, serial),
        }
    }
}

/// What is wrong with a named code, as `400 invalid_code`.
pub fn bad_code(e: signer::ParseError) -> ApiError {
    ApiError::bad_request("invalid_code", format!("check the code: {e}"))
}

/// A scanned URI read as a Digital Link.
pub fn scanned_link(uri: &str) -> Result<DigitalLink, ApiError> {
    DigitalLink::parse(uri).map_err(bad_code)
}

/// Typed numbers read as a code's key.
pub fn typed_key(gtin: &str, serial: &str) -> Result<CodeKey, ApiError> {
    CodeKey::parse(gtin, serial).map_err(bad_code)
}
