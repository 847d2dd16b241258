"""Every Piccolo table of the domain, imported in one place so the engine can bind them."""

from backend.domain.auth.tables import ApiToken
from backend.domain.catalog.tables import Barcode, Item, ItemUnit, KitComponent
from backend.domain.ledger.tables import Balance, CommandLog, Lot, Movement, Reservation
from backend.domain.locations.tables import Location

ALL_TABLES = (Item, ItemUnit, Barcode, KitComponent, Location, Lot, CommandLog, Movement, Balance, Reservation, ApiToken)
