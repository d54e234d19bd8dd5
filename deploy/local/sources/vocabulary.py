"""Word lists the generators draw from.

Deliberately awkward values (accents, CJK, apostrophes, quotes, commas, a newline) so every pipeline that
reads the source data has to handle real-world text, not just ASCII.
"""

# (display name, ASCII form used in e-mail addresses)
FIRST_NAMES: tuple[tuple[str, str], ...] = (
    ("Zoë", "zoe"),
    ("José", "jose"),
    ("Ana", "ana"),
    ("Liam", "liam"),
    ("Søren", "soren"),
    ("Mei", "mei"),
    ("Olga", "olga"),
    ("François", "francois"),
    ("Aiko", "aiko"),
    ("Noah", "noah"),
    ("Chloé", "chloe"),
    ("Björn", "bjorn"),
    ("Priya", "priya"),
    ("Mateo", "mateo"),
    ("Ngozi", "ngozi"),
    ("陽翔", "haruto"),
)
LAST_NAMES: tuple[tuple[str, str], ...] = (
    ("Ångström", "angstrom"),
    ("O'Brien", "obrien"),
    ("Silva", "silva"),
    ("Müller", "muller"),
    ("Nguyễn", "nguyen"),
    ("Smith", "smith"),
    ("García", "garcia"),
    ("Kowalski", "kowalski"),
    ("Dubois", "dubois"),
    ("田中", "tanaka"),
    ("Van der Berg", "vanderberg"),
    ("Ivanova", "ivanova"),
    ("Okafor", "okafor"),
    ("Rossi", "rossi"),
)
# (city, ISO country code, postal code)
CITIES: tuple[tuple[str, str, str], ...] = (
    ("東京", "JP", "100-0001"),
    ("São Paulo", "BR", "01310-100"),
    ("München", "DE", "80331"),
    ("Kraków", "PL", "30-001"),
    ("New York", "US", "10001"),
    ("Montréal", "CA", "H2Y 1C6"),
    ("Reykjavík", "IS", "101"),
    ("Zürich", "CH", "8001"),
    ("Lagos", "NG", "100001"),
    ("Bengaluru", "IN", "560001"),
    ("Lisboa", "PT", "1100-148"),
    ("Seoul", "KR", "04524"),
)
STREETS: tuple[str, ...] = (
    "12 Rue de l'Église",
    'Apt 4B, "The Towers", 55 King St',
    "Hauptstraße 7",
    "1-2-3 Marunouchi, Chiyoda-ku",
    "Av. Paulista, 1578",
    "221B Baker Street",
)
ORDER_NOTES: tuple[str, ...] = (
    "Leave at the door, please",
    'Gift wrap — "Happy Birthday!"',
    "Ring twice,\nthen call",
    "Fragile: glass, handle with care",
    "配達前に電話してください",
    "Deliver after 6pm; side entrance",
)
COUPONS: tuple[str, ...] = ("WELCOME10", "BLACKFRIDAY", "FREESHIP", "VIP-25")
CURRENCIES: tuple[str, ...] = ("USD", "EUR", "BRL", "JPY", "GBP")
ORDER_STATUSES: tuple[str, ...] = ("pending", "paid", "shipped", "delivered", "cancelled", "refunded")
ORDER_STATUS_WEIGHTS: tuple[float, ...] = (0.08, 0.22, 0.25, 0.35, 0.06, 0.04)
CHANNELS: tuple[str, ...] = ("web", "ios", "android", "marketplace")
PAYMENT_METHODS: tuple[str, ...] = ("card", "pix", "boleto", "paypal", "apple_pay")
PAYMENT_FAILURES: tuple[str, ...] = ("card_declined", "insufficient_funds", "expired_card", "fraud_suspected")
CARRIERS: tuple[str, ...] = ("Correios", "DHL Express", "FedEx", "UPS", "ヤマト運輸", "La Poste")

VENDOR_NAMES: tuple[str, ...] = (
    "TechGear",
    "Maison Élégance",
    "Nordic Living AB",
    "Café & Co.",
    "Sakura 商店",
    "O'Malley Outdoors",
    "Papelaria São Jorge",
    "Grün GmbH",
    "Atlas Tools, Inc.",
    "Kiwi Kids",
)

# (category, subcategory, SKU prefix, unit, product noun, price range in cents)
CATALOG: tuple[tuple[str, str, str, str, str, tuple[int, int]], ...] = (
    ("Computer Accessories", "Mice & Keyboards", "CA", "piece", "Wireless Mouse", (999, 8999)),
    ("Computer Accessories", "USB Hubs", "CA", "piece", "USB-C Hub", (1999, 6999)),
    ("Home & Kitchen", "Cookware", "HK", "set", "Cast-Iron Pan Set", (2999, 19999)),
    ("Home & Kitchen", "Coffee", "HK", "kg", "Single-Origin Coffee Beans", (1299, 4999)),
    ("Outdoors", "Camping", "OD", "piece", "Ultralight Tent", (8999, 49999)),
    ("Stationery", "Notebooks", "ST", "pack", "Dotted Notebook", (499, 2999)),
    ("Garden", "Tools", "GD", "piece", "Pruning Shears", (1499, 5999)),
    ("Toys", "Puzzles", "TY", "piece", "Wooden Puzzle", (999, 3999)),
    ("Beverages", "Juice", "BV", "l", "Cold-Pressed Juice", (299, 999)),
    ("Apparel", "Socks", "AP", "pair", "Merino Socks", (899, 2999)),
)
PRODUCT_ADJECTIVES: tuple[str, ...] = (
    "Classic",
    "Pro",
    "Eco",
    "Deluxe",
    "Mini",
    "Ergonomic",
    "Premium",
    "Lite",
)
PRODUCT_DESCRIPTIONS: tuple[str, ...] = (
    "Durable, lightweight and easy to clean.",
    'Our best-seller: rated 4.8/5 by 1,200 customers ("love it!").',
    "Made from recycled materials; ships in plastic-free packaging.",
    "Zoë's pick — perfect for small spaces.",
    "日本製。丁寧に作られています。",
    "",
)
VALID_UNITS: tuple[str, ...] = ("piece", "kg", "g", "l", "ml", "m", "cm", "pack", "set", "pair")

METRIC_NAMES: tuple[tuple[str, float, float], ...] = (
    # (name, typical value, spread)
    ("orders_per_minute", 42.0, 15.0),
    ("checkout_latency_ms", 180.0, 60.0),
    ("cart_abandonment_rate", 0.68, 0.08),
    ("api_error_rate", 0.012, 0.006),
    ("active_sessions", 1500.0, 400.0),
    ("inventory_sync_lag_s", 35.0, 20.0),
)
