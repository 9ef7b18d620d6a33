//! The browser's time zone, as minutes east of UTC.

/// The offset the browser's clock keeps from UTC now.
pub fn utc_offset_minutes() -> i32 {
    -(js_sys::Date::new_0().get_timezone_offset() as i32)
}
