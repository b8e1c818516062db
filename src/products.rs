//! Victron product names by product ID, as the GX names its products.
//!
//! The table is data, not code: `scripts/import-product-names` builds
//! `register_ledgers/products/products.json` from public tables (the GX's own
//! product table, the VE.Direct protocol's product ID list), and it is
//! compiled in like the register ledgers. A scan without MQTT learns product
//! IDs from the few services that serve one over Modbus and names them here.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

/// The products file as compiled in (relative to the crate being compiled,
/// so a target dir shared by checkouts never embeds another checkout's file).
const PRODUCTS_JSON: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/register_ledgers/products/products.json"
));

/// The layout version of the products file this build reads.
const FORMAT: u32 = 1;

#[derive(Deserialize)]
struct ProductsFile {
    format: u32,
    products: Vec<Product>,
}

#[derive(Deserialize)]
struct Product {
    id: u16,
    name: String,
}

/// Parses a products file: names by ID, or why the file is unusable
/// (another layout version, an ID named twice, an empty name).
fn parse(text: &str) -> Result<HashMap<u16, String>, String> {
    let file: ProductsFile = serde_json::from_str(text).map_err(|err| err.to_string())?;
    if file.format != FORMAT {
        return Err(format!(
            "format {} (this build reads {FORMAT})",
            file.format
        ));
    }
    let mut names = HashMap::with_capacity(file.products.len());
    for product in file.products {
        if product.name.trim().is_empty() {
            return Err(format!("product {:#06X} has an empty name", product.id));
        }
        if names.insert(product.id, product.name).is_some() {
            return Err(format!("product {:#06X} is named twice", product.id));
        }
    }
    Ok(names)
}

static PRODUCTS: LazyLock<Result<HashMap<u16, String>, String>> =
    LazyLock::new(|| parse(PRODUCTS_JSON));

/// The product name of a Victron product ID (`0xA3E5` -> "Lynx Smart BMS
/// 500"); `None` for an ID the table lacks (or, never in a tested build, an
/// unusable table: names are a nicety, a scan never fails for them).
pub fn product_name(product_id: u32) -> Option<&'static str> {
    let id = u16::try_from(product_id).ok()?;
    PRODUCTS.as_ref().ok()?.get(&id).map(String::as_str)
}

/// How many products the compiled-in table names (0 when it is unusable).
pub fn product_count() -> usize {
    PRODUCTS.as_ref().map_or(0, HashMap::len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_table_is_usable_and_names_what_sites_have() {
        assert!(PRODUCTS.is_ok(), "{:?}", PRODUCTS.as_ref().err());
        assert!(product_count() > 700, "{}", product_count());
        assert_eq!(product_name(0xA3E5), Some("Lynx Smart BMS 500"));
        assert_eq!(product_name(0x2623), Some("MultiPlus-II 48/5000/70-50"));
        assert_eq!(product_name(0xA10B), Some("SmartSolar MPPT VE.Can 250/100"));
        assert_eq!(product_name(0xA160), Some("Tank sensor"));
        // Not products, and IDs beyond 16 bits.
        assert_eq!(product_name(0xFFFF), None);
        assert_eq!(product_name(0xFFFE), None);
        assert_eq!(product_name(0x1_A3E5), None);
    }

    #[test]
    fn unusable_tables_are_refused() {
        let twice =
            r#"{"format": 1, "products": [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]}"#;
        assert!(parse(twice).unwrap_err().contains("twice"));
        let empty = r#"{"format": 1, "products": [{"id": 1, "name": " "}]}"#;
        assert!(parse(empty).unwrap_err().contains("empty"));
        assert!(parse(r#"{"format": 2, "products": []}"#)
            .unwrap_err()
            .contains("format 2"));
        assert!(parse("[]").is_err());
        let fine = r#"{"format": 1, "products": [{"id": 41957, "name": "Lynx Smart BMS 500"}]}"#;
        assert_eq!(parse(fine).map(|names| names.len()), Ok(1));
    }
}
