//! Who the machine is: the id FleetLock knows it by, derived from `/etc/machine-id` exactly as
//! Zincati derives the id it sends (systemd's `sd_id128_get_machine_app_specific`: the
//! HMAC-SHA256 of the application id keyed with the machine id, its first 16 bytes made a
//! version 4 UUID, written as 32 lower-case hex digits), and the kernel's boot id.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The application id Zincati derives its FleetLock id with.
pub const FLEETLOCK_APP_ID: &str = "de35106b6ec24688b63afddaa156679b";

/// A 128-bit id as systemd writes one: 32 hex digits, or a UUID with dashes; surrounding
/// whitespace (the file's line break) ignored.
pub fn parse_id128(text: &str) -> Result<[u8; 16], String> {
    let digits: String = text.trim().chars().filter(|&c| c != '-').collect();
    let mut id = [0u8; 16];
    if digits.len() != 32 || hex::decode_to_slice(&digits, &mut id).is_err() {
        let shown: String = text.trim().chars().take(40).collect();
        return Err(format!("`{shown}` is not a 128-bit id: expected 32 hexadecimal digits"));
    }
    Ok(id)
}

/// `machine`'s id for application `app`, as `sd_id128_get_machine_app_specific` makes it.
pub fn app_specific(machine: [u8; 16], app: [u8; 16]) -> [u8; 16] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&machine).expect("HMAC takes a key of any length");
    mac.update(&app);
    let hashed = mac.finalize().into_bytes();
    let mut id = [0u8; 16];
    id.copy_from_slice(&hashed[..16]);
    // A version 4 UUID of the DCE variant.
    id[6] = (id[6] & 0x0F) | 0x40;
    id[8] = (id[8] & 0x3F) | 0x80;
    id
}

/// The id FleetLock knows the machine by (what Zincati sends), from the text of
/// `/etc/machine-id`.
pub fn fleetlock_id(machine_id_file: &str) -> Result<String, String> {
    let machine = parse_id128(machine_id_file).map_err(|e| format!("the machine id {e}"))?;
    let app = parse_id128(FLEETLOCK_APP_ID)?;
    Ok(hex::encode(app_specific(machine, app)))
}

/// The boot id, from the text of `/proc/sys/kernel/random/boot_id` (a UUID with dashes), as
/// 32 lower-case hex digits.
pub fn boot_id(file: &str) -> Result<String, String> {
    parse_id128(file).map(hex::encode).map_err(|e| format!("the boot id {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fleetlock_id_is_the_one_zincati_sends() {
        // `systemd-id128 machine-id --app-specific=de35106b6ec24688b63afddaa156679b` on a
        // machine whose /etc/machine-id is this one.
        assert_eq!(fleetlock_id("3d1219c7c4c5404aaa1f6d2a48adfda4\n").unwrap(), "975228d46dc94622b9bbe16671e2b58d");
        // Another application id (a test vector of the libsystemd crate Zincati uses).
        let machine = parse_id128("2e074e9b299c41a59923c51ae16f279b").unwrap();
        let app = parse_id128("033b1b9b-2644-41fc-aa17-3e9e5bf35c5a").unwrap();
        assert_eq!(hex::encode(app_specific(machine, app)), "4d4a86c9c6644a479560ded5d19a30c5");
    }

    #[test]
    fn ids_are_read_as_systemd_writes_them_and_nothing_else() {
        assert_eq!(boot_id("0b7c6d52-93f4-4e3a-9f8e-3f4c1a2b5d6e\n").unwrap(), "0b7c6d5293f44e3a9f8e3f4c1a2b5d6e");
        for bad in [
            "",
            "xyz",
            "3d1219c7c4c5404aaa1f6d2a48adfda",
            "3d1219c7c4c5404aaa1f6d2a48adfda4ff",
            "g".repeat(32).as_str(),
        ] {
            assert!(parse_id128(bad).unwrap_err().contains("not a 128-bit id"), "{bad:?}");
        }
        assert!(fleetlock_id("nope").unwrap_err().starts_with("the machine id `nope`"));
    }
}
