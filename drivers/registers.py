"""Declared register maps: a chip's registers, bit fields and value tables, written once.

Both a chip's driver and its emulator read the same declaration, so an address or a bit
position lives in exactly one place. A field's ``values`` table maps meaningful values (an
output rate in Hz, a range in g, a FIFO mode name) to the bits written::

    RATE = Field("RATE", shift=0, width=4, values={100: 0x0A, 200: 0x0B, 400: 0x0C})
    BW_RATE = Register("BW_RATE", 0x2C, reset=0x0A, fields=(LOW_POWER, RATE))
    regs = RegisterMap("ADXL345", [BW_RATE, ...])
    regs.compose("BW_RATE", RATE=200)          # → 0x0B
    regs.get("BW_RATE", 0x0B, "RATE")          # → 200
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Field:
    """A run of bits inside a register; ``values`` maps meanings to bit patterns."""

    name: str
    shift: int
    width: int = 1
    values: Mapping[Any, int] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.shift

    def encode(self, value: Any) -> int:
        """The register bits for ``value`` (a table key, or a raw integer for fields without
        a table, or True/False for one-bit flags)."""
        if self.values:
            if value not in self.values:
                known = ", ".join(str(k) for k in self.values)
                raise ValueError(f"{self.name}: {value!r} is not one of {known}")
            raw = self.values[value]
        else:
            raw = int(value)
        if not 0 <= raw < (1 << self.width):
            raise ValueError(f"{self.name}: {raw} does not fit in {self.width} bits")
        return raw << self.shift

    def raw(self, byte: int) -> int:
        return (byte & self.mask) >> self.shift

    def decode(self, byte: int) -> Any:
        """The meaning of this field's bits in ``byte`` (the raw number if not in the table)."""
        raw = self.raw(byte)
        for meaning, bits in self.values.items():
            if bits == raw:
                return meaning
        return raw


@dataclass(frozen=True)
class Register:
    name: str
    address: int
    reset: int = 0x00
    writable: bool = True
    fields: tuple[Field, ...] = ()
    # Looked up on every register access of driver and emulator: indexed once.
    _by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.name: f for f in self.fields})

    def field(self, name: str) -> Field:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"{self.name} has no field {name}") from None


class RegisterMap:
    """A chip's registers, looked up by name or address."""

    def __init__(self, chip: str, registers: Iterable[Register]) -> None:
        self.chip = chip
        self.registers = tuple(registers)
        self._by_name = {r.name: r for r in self.registers}
        self._by_address = {r.address: r for r in self.registers}
        if len(self._by_name) != len(self.registers) or len(self._by_address) != len(
            self.registers
        ):
            raise ValueError(f"{chip}: duplicate register name or address")

    def __getitem__(self, name: str) -> Register:
        return self._by_name[name]

    def at(self, address: int) -> Register | None:
        return self._by_address.get(address)

    def address(self, name: str) -> int:
        return self._by_name[name].address

    def compose(self, register: str, **fields: Any) -> int:
        """A register value with the named fields set and every other bit 0."""
        reg = self._by_name[register]
        value = 0
        for name, meaning in fields.items():
            value |= reg.field(name).encode(meaning)
        return value

    def update(self, register: str, current: int, **fields: Any) -> int:
        """``current`` with the named fields replaced."""
        reg = self._by_name[register]
        for name, meaning in fields.items():
            f = reg.field(name)
            current = (current & ~f.mask) | f.encode(meaning)
        return current & 0xFF

    def get(self, register: str, byte: int, field_name: str) -> Any:
        return self._by_name[register].field(field_name).decode(byte)

    def flag(self, register: str, byte: int, field_name: str) -> bool:
        return bool(self._by_name[register].field(field_name).raw(byte))

    def resets(self) -> dict[int, int]:
        """Power-on value of every register, by address."""
        return {r.address: r.reset for r in self.registers}
