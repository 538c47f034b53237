"""Record classes: the declaration of a dataclass, made without the ``dataclasses`` module.

A ``--no-check`` run makes about eighteen record classes while it imports. With ``dataclasses``
they cost about 45 ms of its 150 ms start-up (issue 18): importing it pulls in ``inspect``,
``ast`` and ``dis``, and each class is made by compiling generated source (~1 ms a class).
``record`` reads the same declaration (annotations, defaults, ``field``) and gives the same
``__init__``, ``__eq__``, ``__repr__`` and ``__hash__`` behaviour from shared functions, so
making a class costs microseconds. mypy reads a record as a dataclass (``dataclass_transform``).

What it gives: ``__init__(*fields, **fields)`` in declaration order, then ``__post_init__`` when
the class has one; ``__eq__`` by type and field values; ``__repr__`` of the fields with
``repr=True``; with ``frozen=True``, assignment raises ``FrozenInstanceError`` and instances
hash by their fields (as dataclasses: unfrozen records are unhashable). A method the class
writes itself is kept (a record made per call writes a faster ``__init__``). ``replace`` and
``fields`` are ``dataclasses.replace`` and ``dataclasses.fields`` for records. A record that
derives from a record has its base's fields first, as a dataclass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:   # typing has it from Python 3.11; only mypy needs it
    from typing_extensions import dataclass_transform
else:
    def dataclass_transform(**_):
        return lambda f: f

__all__ = ["record", "field", "fields", "replace", "FrozenInstanceError"]

_MISSING: Any = object()
_T = TypeVar("_T")


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a frozen record."""


class Field:
    """One field's declaration: its name, its default or default factory, whether __init__
    takes it and whether __repr__ shows it."""

    __slots__ = ("name", "default", "default_factory", "init", "repr")

    def __init__(self, default=_MISSING, default_factory=_MISSING, init=True, repr=True):
        self.name = ""
        self.default, self.default_factory, self.init, self.repr = (
            default, default_factory, init, repr)


def field(*, default: Any = _MISSING, default_factory: Any = _MISSING, init: bool = True,
          repr: bool = True) -> Any:
    """A field's declaration beyond a plain default (as dataclasses.field)."""
    return Field(default, default_factory, init, repr)


def fields(cls_or_record) -> tuple[Field, ...]:
    """The fields of a record class or record, in declaration order."""
    return cls_or_record.__record_fields__


def replace(obj, /, **changes):
    """A new record like ``obj`` with some fields changed (as dataclasses.replace)."""
    for f in obj.__record_fields__:
        if f.init and f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    return obj.__class__(**changes)


def _init(self, *args, **kwargs) -> None:
    """Fill the instance's __dict__ in a few bulk steps: records are made per step of a loop
    (optimize.Step), so this stays within a microsecond or two."""
    cls = self.__class__
    names = cls.__record_names__
    state = self.__dict__
    state.update(cls.__record_defaults__)   # plain defaults, shared (as a dataclass shares them)
    for name, factory in cls.__record_factories__:
        state[name] = factory()
    if len(args) > len(names):
        raise TypeError(f"{cls.__name__}() takes {len(names)} positional arguments but "
                        f"{len(args)} were given")
    state.update(zip(names, args, strict=False))
    if kwargs:
        for name in kwargs:
            if name not in cls.__record_accepts__ or names.index(name) < len(args):
                raise TypeError(f"{cls.__name__}() got an unexpected or repeated argument "
                                f"{name!r}")
        state.update(kwargs)
    if len(args) < cls.__record_required__:
        for name in names[len(args):cls.__record_required__]:
            if name not in kwargs:
                raise TypeError(f"{cls.__name__}() missing argument {name!r}")
    post = getattr(self, "__post_init__", None)
    if post is not None:
        post()


def _values(self) -> tuple:
    return tuple([getattr(self, f.name) for f in self.__record_fields__])


def _eq(self, other):
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _values(self) == _values(other)


def _repr(self) -> str:
    shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in self.__record_fields__
                      if f.repr)
    return f"{self.__class__.__qualname__}({shown})"


def _hash(self) -> int:
    return hash(_values(self))


def _frozen_setattr(self, name, value):
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self, name):
    raise FrozenInstanceError(f"cannot delete field {name!r}")


@overload
def record(cls: type[_T], /) -> type[_T]: ...


@overload
def record(*, frozen: bool = False) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(field_specifiers=(field,))
def record(cls=None, /, *, frozen: bool = False):
    """Make ``cls`` a record (see the module's docstring): ``@record`` or
    ``@record(frozen=True)``."""

    def make(cls):
        own = cls.__dict__
        inherited = {f.name: f for base in reversed(cls.__mro__[1:])
                     for f in base.__dict__.get("__record_fields__", ())}
        declared = []
        annotations = own.get("__annotations__") or getattr(cls, "__annotations__", {})
        for name in annotations:
            given = own.get(name, _MISSING)
            if isinstance(given, (list, dict, set)):   # shared by every instance: refused
                raise ValueError(f"{cls.__name__}.{name}: a mutable default; use "
                                 "field(default_factory=...)")
            f = given if isinstance(given, Field) else Field(default=given)
            f.name = name
            if isinstance(given, Field):   # the class attribute is the default, or nothing
                if f.default is _MISSING:
                    delattr(cls, name)
                else:
                    setattr(cls, name, f.default)
            declared.append(f)
        for f in declared:   # a base's fields first, in its order (as dataclasses)
            inherited[f.name] = f
        declared = list(inherited.values())
        cls.__record_fields__ = tuple(declared)
        init = [f for f in declared if f.init]
        cls.__record_names__ = tuple(f.name for f in init)   # __init__'s parameters, in order
        cls.__record_accepts__ = frozenset(cls.__record_names__)
        required = [f.default is _MISSING and f.default_factory is _MISSING for f in init]
        if required != sorted(required, reverse=True):
            raise TypeError(f"{cls.__name__}: a field without a default follows one with a "
                            "default")
        cls.__record_required__ = sum(required)
        cls.__record_defaults__ = {f.name: f.default for f in declared
                                   if f.default is not _MISSING}
        cls.__record_factories__ = tuple((f.name, f.default_factory) for f in declared
                                         if f.default_factory is not _MISSING)
        methods: dict[str, Any] = {"__init__": _init, "__eq__": _eq, "__repr__": _repr}
        if frozen:
            methods.update(__setattr__=_frozen_setattr, __delattr__=_frozen_delattr,
                           __hash__=_hash)
        elif "__hash__" not in own or own["__hash__"] is None:
            methods["__hash__"] = None   # mutable and compared by value: unhashable
        for name, method in methods.items():
            if name not in own or (name == "__hash__" and own[name] is None):
                setattr(cls, name, method)
        return cls

    return make if cls is None else make(cls)
