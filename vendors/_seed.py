"""The sandboxes' shared world: brands, regions, reference FX, denominations.

Every sandbox builds its vendor-format catalog from these tables, so brands overlap across
vendors the way they do in life (Amazon is sold by Tango *and* Tremendous, at different costs),
and a run is reproducible: nothing here is random.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

__all__ = [
    "CHARITIES",
    "EXPERIENCES",
    "FIXED_VALUES",
    "GIFT_CARD_BRANDS",
    "MERCHANDISE",
    "RANGES",
    "REGION_CURRENCY",
    "USD_RATES",
    "VIATOR_DESTINATIONS",
    "Brand",
    "Charity",
    "Experience",
    "Merchandise",
    "slug",
]

REGION_CURRENCY: Final = {
    "US": "USD", "CA": "CAD", "GB": "GBP", "DE": "EUR", "FR": "EUR", "IT": "EUR", "ES": "EUR",
    "NL": "EUR", "JP": "JPY", "IN": "INR", "AU": "AUD",
}  # fmt: skip

# Units of each currency per 1 USD: the sandboxes' reference market.
USD_RATES: Final = {
    "USD": Decimal("1"), "EUR": Decimal("0.9212"), "GBP": Decimal("0.7841"),
    "CAD": Decimal("1.3912"), "JPY": Decimal("151.37"), "INR": Decimal("83.52"),
    "AUD": Decimal("1.5123"),
}  # fmt: skip

FIXED_VALUES: Final = {
    "USD": (10, 25, 50, 100), "CAD": (25, 50, 100), "GBP": (10, 25, 50, 100),
    "EUR": (10, 25, 50, 100), "JPY": (1000, 3000, 5000, 10000), "INR": (500, 1000, 2000, 5000),
    "AUD": (20, 50, 100),
}  # fmt: skip

RANGES: Final = {
    "USD": (5, 500), "CAD": (5, 500), "GBP": (5, 500), "EUR": (5, 500), "JPY": (500, 50000),
    "INR": (100, 10000), "AUD": (5, 500),
}  # fmt: skip


@dataclass(frozen=True)
class Brand:
    name: str
    description: str
    regions: tuple[str, ...]
    variable: bool  # a min/max range rather than fixed face values
    tremendous: bool  # also sold by Tremendous


GIFT_CARD_BRANDS: Final = (
    Brand(
        "Amazon",
        "Shop millions of items across every category.",
        ("US", "GB", "DE", "CA", "JP", "IN"),
        True,
        True,
    ),
    Brand(
        "Starbucks", "Coffee, tea and snacks at Starbucks stores.", ("US", "CA", "GB"), False, True
    ),
    Brand("Target", "Everyday essentials and more at Target.", ("US",), True, True),
    Brand("Walmart", "Groceries, electronics and home at Walmart.", ("US",), True, True),
    Brand(
        "Apple",
        "Apps, games, music, devices and more from Apple.",
        ("US", "GB", "CA", "JP", "AU"),
        False,
        True,
    ),
    Brand(
        "Google Play",
        "Apps, games and books on Google Play.",
        ("US", "GB", "IN", "JP"),
        False,
        True,
    ),
    Brand("Netflix", "Stream films and series.", ("US", "GB", "CA", "IN", "JP", "DE"), False, True),
    Brand("Spotify", "Music and podcasts, ad-free.", ("US", "GB", "DE"), False, True),
    Brand("Uber", "Rides and Uber Eats deliveries.", ("US", "GB", "IN"), True, True),
    Brand(
        "Airbnb", "Stays and experiences around the world.", ("US", "GB", "CA", "DE"), True, True
    ),
    Brand("Best Buy", "Electronics and appliances.", ("US", "CA"), True, True),
    Brand("Home Depot", "Tools, hardware and home improvement.", ("US", "CA"), True, True),
    Brand("Sephora", "Makeup, skincare and fragrance.", ("US", "CA", "FR"), False, True),
    Brand("IKEA", "Furniture and home accessories.", ("US", "DE", "GB", "CA", "JP"), True, False),
    Brand("Nike", "Shoes, apparel and gear.", ("US", "GB", "DE"), False, False),
    Brand("Zalando", "Fashion and shoes delivered across Europe.", ("DE", "FR", "NL"), True, False),
    Brand("Flipkart", "India's online marketplace.", ("IN",), True, False),
    Brand("Tesco", "Groceries and more at Tesco.", ("GB",), True, False),
    Brand("Marks & Spencer", "Food, clothing and home.", ("GB",), False, False),
    Brand("Rakuten Ichiba", "Japan's online shopping mall.", ("JP",), True, False),
    Brand("Tim Hortons", "Coffee and baked goods, Canada's favourite.", ("CA",), False, False),
    Brand("Canadian Tire", "Automotive, sports and home.", ("CA",), True, False),
    Brand("Steam", "PC games on the Steam store.", ("US", "GB", "DE"), False, False),
    Brand("Xbox", "Games and subscriptions for Xbox.", ("US", "GB"), False, False),
    Brand(
        "PlayStation Store", "Games and add-ons for PlayStation.", ("US", "GB", "JP"), False, False
    ),
    Brand("DoorDash", "Food delivery from local restaurants.", ("US", "CA"), True, False),
    Brand("Lowe's", "Home improvement and appliances.", ("US",), True, False),
    Brand("Macy's", "Department store fashion and home.", ("US",), True, False),
    Brand("Sainsbury's", "Groceries and household.", ("GB",), True, False),
    Brand("Decathlon", "Sports equipment for every sport.", ("FR", "DE", "IN", "GB"), True, False),
    Brand("Swiggy", "Food and grocery delivery in India.", ("IN",), True, False),
    Brand("MakeMyTrip", "Flights, hotels and holidays.", ("IN",), True, False),
    Brand("Uniqlo", "Everyday clothing from Japan.", ("JP", "US", "GB"), False, False),
    Brand("JB Hi-Fi", "Electronics, music and games in Australia.", ("AU",), True, False),
    Brand("Woolworths", "Groceries across Australia.", ("AU",), True, False),
)


@dataclass(frozen=True)
class Charity:
    name: str
    mission: str
    category: str
    ein: str


CHARITIES: Final = (
    Charity(
        "American Red Cross",
        "Prevents and alleviates human suffering in emergencies.",
        "Disaster Relief",
        "53-0196605",
    ),
    Charity(
        "Doctors Without Borders", "Medical care where it is needed most.", "Health", "13-3433452"
    ),
    Charity("Feeding America", "A hunger-free America through food banks.", "Hunger", "36-3673599"),
    Charity(
        "World Wildlife Fund",
        "Conserving nature and reducing threats to diversity.",
        "Environment",
        "52-1693387",
    ),
    Charity(
        "St. Jude Children's Research Hospital",
        "Treating and defeating childhood cancer.",
        "Health",
        "62-0646012",
    ),
    Charity("Habitat for Humanity", "Homes, communities and hope.", "Housing", "91-1914868"),
    Charity("charity: water", "Clean and safe drinking water for everyone.", "Water", "22-3936753"),
    Charity(
        "The Nature Conservancy",
        "Conserving the lands and waters on which life depends.",
        "Environment",
        "53-0242652",
    ),
    Charity("Save the Children", "A better future for every child.", "Children", "06-0726487"),
    Charity(
        "UNICEF USA",
        "Saving and protecting the world's most vulnerable children.",
        "Children",
        "13-1760110",
    ),
    Charity(
        "Direct Relief",
        "Medical aid to people affected by poverty or emergencies.",
        "Health",
        "95-1831116",
    ),
    Charity("GiveDirectly", "Cash transfers to people living in poverty.", "Poverty", "27-1661997"),
    Charity(
        "Khan Academy",
        "Free, world-class education for anyone, anywhere.",
        "Education",
        "26-1544963",
    ),
    Charity("ASPCA", "Preventing cruelty to animals.", "Animals", "13-1623829"),
    Charity("Best Friends Animal Society", "No-kill animal shelters.", "Animals", "23-7147797"),
    Charity(
        "Room to Read", "Literacy and gender equality in education.", "Education", "91-2197468"
    ),
    Charity(
        "Ocean Conservancy",
        "A healthy ocean and the wildlife that depend on it.",
        "Environment",
        "23-7245152",
    ),
    Charity(
        "Team Rubicon",
        "Veterans serving communities after disasters.",
        "Disaster Relief",
        "27-2140524",
    ),
    Charity("Wikimedia Foundation", "Free knowledge for every person.", "Education", "20-0049703"),
    Charity(
        "Partners In Health",
        "A preferential option for the poor in health care.",
        "Health",
        "04-3567502",
    ),
)


@dataclass(frozen=True)
class Merchandise:
    name: str
    brand: str
    description: str
    currency: str
    # (variant name, retail price, what Printful charges for it)
    variants: tuple[tuple[str, str, str], ...]


MERCHANDISE: Final = (
    Merchandise(
        "Classic Logo Tee",
        "Bella + Canvas",
        "Soft ringspun cotton tee with the program logo.",
        "USD",
        (
            ("S", "24.00", "11.69"),
            ("M", "24.00", "11.69"),
            ("L", "24.00", "11.69"),
            ("XL", "26.00", "13.25"),
        ),
    ),
    Merchandise(
        "Pullover Hoodie",
        "Gildan",
        "Heavy blend hoodie, embroidered.",
        "USD",
        (("M", "48.00", "26.50"), ("L", "48.00", "26.50"), ("XL", "52.00", "28.75")),
    ),
    Merchandise(
        "Insulated Tumbler 20oz",
        "Printful",
        "Stainless steel, keeps drinks cold 24 h.",
        "USD",
        (("White", "32.00", "17.95"), ("Black", "32.00", "17.95")),
    ),
    Merchandise(
        "Ceramic Mug 11oz",
        "Printful",
        "Glossy mug, dishwasher safe.",
        "USD",
        (("White", "16.00", "7.95"), ("Black", "18.00", "9.95")),
    ),
    Merchandise(
        "Canvas Tote Bag",
        "Printful",
        "Organic cotton tote.",
        "USD",
        (("Natural", "22.00", "10.75"),),
    ),
    Merchandise(
        "Embroidered Dad Hat",
        "Yupoong",
        "Unstructured cotton cap.",
        "USD",
        (("Black", "26.00", "13.95"), ("Navy", "26.00", "13.95"), ("Khaki", "26.00", "13.95")),
    ),
    Merchandise(
        "Laptop Sleeve 13in",
        "Printful",
        "Neoprene sleeve with a padded interior.",
        "USD",
        (("13in", "34.00", "18.50"),),
    ),
    Merchandise(
        "Eco Water Bottle",
        "Printful",
        "Recycled stainless steel, 500 ml.",
        "EUR",
        (("White", "29.00", "15.40"), ("Silver", "29.00", "15.40")),
    ),
    Merchandise(
        "Organic Crew Sweatshirt",
        "Stanley/Stella",
        "Organic cotton, made in Europe.",
        "EUR",
        (("S", "55.00", "29.90"), ("M", "55.00", "29.90"), ("L", "55.00", "29.90")),
    ),
    Merchandise(
        "Beanie",
        "Yupoong",
        "Cuffed knit beanie.",
        "EUR",
        (("Black", "22.00", "10.95"), ("Grey", "22.00", "10.95")),
    ),
    Merchandise(
        "Desk Poster A3",
        "Printful",
        "Museum-quality matte poster.",
        "EUR",
        (("A3", "19.00", "8.40"),),
    ),
    Merchandise(
        "Backpack",
        "Printful",
        "Water-resistant with a laptop compartment.",
        "USD",
        (("Black", "62.00", "34.95"),),
    ),
)

# Printful ships from these regions in the sandbox.
MERCHANDISE_COUNTRIES: Final = ("US", "CA", "GB", "DE", "FR", "NL", "AU", "JP")


@dataclass(frozen=True)
class Experience:
    code: str
    title: str
    city: str
    country: str
    usd_price: str  # per adult, before conversion
    hours: int
    manual_confirmation: bool  # the supplier confirms later (PENDING first)


# Viator destination ids of the cities the experiences are in.
VIATOR_DESTINATIONS: Final = {
    "New York": "687", "London": "737", "Paris": "479", "Rome": "511", "Las Vegas": "684",
    "Barcelona": "562", "Amsterdam": "525", "Tokyo": "334", "Kyoto": "332", "Sydney": "357",
    "Melbourne": "384", "San Francisco": "651", "Berlin": "488", "Toronto": "623",
    "Vancouver": "616", "Delhi": "804", "Jaipur": "4627",
}  # fmt: skip

EXPERIENCES: Final = (
    Experience("5010SYDNEY", "Sydney Harbour Sunset Cruise", "Sydney", "AU", "79.00", 2, False),
    Experience(
        "3731NYC", "Statue of Liberty and Ellis Island Tour", "New York", "US", "59.00", 4, False
    ),
    Experience("3918NYC", "Top of the Rock Observation Deck", "New York", "US", "45.00", 1, False),
    Experience(
        "2050NYC", "Broadway Behind the Scenes Walking Tour", "New York", "US", "39.00", 2, False
    ),
    Experience("12345SF", "Alcatraz Island Night Tour", "San Francisco", "US", "65.00", 3, False),
    Experience("6710LAS", "Grand Canyon West Rim Day Trip", "Las Vegas", "US", "149.00", 10, True),
    Experience("4920LON", "Tower of London Priority Entry", "London", "GB", "42.00", 3, False),
    Experience(
        "4951LON", "Harry Potter Studio Tour with Transfers", "London", "GB", "129.00", 7, True
    ),
    Experience("5577LON", "Thames River Dinner Cruise", "London", "GB", "99.00", 3, False),
    Experience("3309PAR", "Eiffel Tower Summit Access", "Paris", "FR", "89.00", 2, False),
    Experience("3377PAR", "Louvre Museum Guided Tour", "Paris", "FR", "75.00", 3, False),
    Experience("8812PAR", "Versailles Palace Day Trip", "Paris", "FR", "119.00", 6, True),
    Experience("1802ROM", "Colosseum Underground and Arena Floor", "Rome", "IT", "95.00", 3, True),
    Experience("1833ROM", "Vatican Museums and Sistine Chapel", "Rome", "IT", "69.00", 3, False),
    Experience("2222BCN", "Sagrada Familia Fast-Track Tour", "Barcelona", "ES", "55.00", 2, False),
    Experience("7001TYO", "Tsukiji Food and Culture Walk", "Tokyo", "JP", "85.00", 3, False),
    Experience("7045TYO", "Mount Fuji Day Trip", "Tokyo", "JP", "110.00", 11, True),
    Experience("7102KYO", "Kyoto Tea Ceremony", "Kyoto", "JP", "49.00", 1, False),
    Experience(
        "9120TOR", "Niagara Falls Day Trip from Toronto", "Toronto", "CA", "139.00", 9, False
    ),
    Experience("9155VAN", "Vancouver Seaplane Tour", "Vancouver", "CA", "189.00", 1, True),
    Experience("6601DEL", "Taj Mahal Sunrise Tour from Delhi", "Delhi", "IN", "95.00", 12, True),
    Experience("6644JAI", "Jaipur Amber Fort and City Palace", "Jaipur", "IN", "39.00", 6, False),
    Experience("5120AMS", "Amsterdam Canal Cruise", "Amsterdam", "NL", "25.00", 1, False),
    Experience(
        "5188BER", "Berlin Wall and Cold War Walking Tour", "Berlin", "DE", "29.00", 3, False
    ),
    Experience("5301MEL", "Great Ocean Road Day Trip", "Melbourne", "AU", "119.00", 12, False),
)


def slug(text: str) -> str:
    return "".join(ch.lower() if ch.isalnum() else "-" for ch in text).strip("-").replace("--", "-")
