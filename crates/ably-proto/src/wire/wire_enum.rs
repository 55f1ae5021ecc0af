//! A macro for wire enums that keep unknown numbers.

/// Declares an enum carried on the wire as a number, with an `Unknown(u64)`
/// variant so that numbers from a newer protocol survive a decode/encode
/// round trip instead of failing the frame.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $ty:ident {
            $( $(#[$doc:meta])* $name:ident = $num:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $ty {
            $( $(#[$doc])* $name, )*
            /// A number this version does not know.
            Unknown(u64),
        }

        impl $ty {
            /// The wire number.
            pub fn number(self) -> u64 {
                match self {
                    $( $ty::$name => $num, )*
                    $ty::Unknown(n) => n,
                }
            }

            /// The value for a wire number.
            pub fn from_number(n: u64) -> $ty {
                match n {
                    $( $num => $ty::$name, )*
                    n => $ty::Unknown(n),
                }
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_u64(self.number())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::wire::lenient::int::<D, u64>(d).map($ty::from_number)
            }
        }
    };
}

pub(crate) use wire_enum;
