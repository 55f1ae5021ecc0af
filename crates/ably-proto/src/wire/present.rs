//! Serializing only the fields that are present, with an exact map length
//! (MessagePack writes the length before the entries).

/// Whether a field is written to the wire.
pub(crate) trait Present {
    fn present(&self) -> bool;
}

impl<T> Present for Option<T> {
    fn present(&self) -> bool {
        self.is_some()
    }
}

impl Present for super::Data {
    fn present(&self) -> bool {
        !self.is_none()
    }
}

impl<T> Present for Vec<T> {
    fn present(&self) -> bool {
        !self.is_empty()
    }
}

/// Serializes `$value`s that are present as a map, in the order given.
macro_rules! serialize_present {
    ($serializer:expr, { $( $key:literal => $value:expr ),* $(,)? }) => {{
        use serde::ser::SerializeMap as _;
        use $crate::wire::present::Present as _;
        let len = 0 $( + usize::from($value.present()) )*;
        let mut map = $serializer.serialize_map(Some(len))?;
        $( if $value.present() { map.serialize_entry($key, $value)?; } )*
        map.end()
    }};
}

pub(crate) use serialize_present;
