"""gradcalc.records: the dataclass declarations it reads, and the behaviour it gives them (the
same as dataclasses', which it replaces for start-up time: issue 18)."""

import pytest

from gradcalc.records import FrozenInstanceError, field, fields, record, replace


@record
class Point:
    """A mutable record with a plain default and a default factory."""

    x: float
    y: float = 0.0
    tags: list = field(default_factory=list)
    secret: str = field(default="s", repr=False)


@record(frozen=True)
class Frozen:
    a: int
    b: tuple = ()


@record
class Derived(Point):
    z: float = 1.0


@record
class Later:
    source: str
    size: int = field(init=False, repr=False)

    def __post_init__(self):
        self.size = len(self.source)


def test_init_takes_fields_in_order_by_position_or_name():
    p = Point(1.0, 2.0, ["a"])
    assert (p.x, p.y, p.tags, p.secret) == (1.0, 2.0, ["a"], "s")
    q = Point(y=3.0, x=4.0)
    assert (q.x, q.y, q.tags) == (4.0, 3.0, [])


def test_a_default_factory_makes_a_new_value_each_time():
    a, b = Point(1.0), Point(1.0)
    a.tags.append(1)
    assert b.tags == [] and a.tags == [1]


@pytest.mark.parametrize("args, kwargs", [((), {}), ((1, 2, [], "s", 5), {}),
                                          ((1,), {"x": 2}), ((1,), {"w": 2})])
def test_wrong_arguments_raise_type_error(args, kwargs):
    with pytest.raises(TypeError):
        Point(*args, **kwargs)


def test_equality_is_by_type_and_fields():
    assert Point(1.0, 2.0) == Point(1.0, 2.0)
    assert Point(1.0, 2.0) != Point(1.0, 2.5)
    assert Point(1.0) != Derived(1.0)
    assert Point(1.0).__eq__((1.0, 0.0, [], "s")) is NotImplemented


def test_repr_shows_the_fields_with_repr():
    assert repr(Point(1.0, 2.0)) == "Point(x=1.0, y=2.0, tags=[])"
    assert repr(Frozen(1)) == "Frozen(a=1, b=())"


def test_frozen_records_refuse_assignment_and_hash_by_value():
    f = Frozen(1, (2,))
    with pytest.raises(FrozenInstanceError):
        f.a = 2   # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del f.a   # type: ignore[misc]
    assert isinstance(FrozenInstanceError("x"), AttributeError)
    assert hash(f) == hash(Frozen(1, (2,))) and {f, Frozen(1, (2,))} == {f}


def test_mutable_records_are_unhashable():
    with pytest.raises(TypeError):
        hash(Point(1.0))


def test_replace_and_fields():
    f = replace(Frozen(1, (2,)), b=(3,))
    assert f == Frozen(1, (3,))
    assert [x.name for x in fields(Point)] == ["x", "y", "tags", "secret"]
    later = replace(Later("abc"), source="abcd")
    assert later.size == 4


def test_a_derived_record_has_its_base_fields_first():
    d = Derived(1.0, 2.0, [], "t", 3.0)
    assert (d.x, d.y, d.tags, d.secret, d.z) == (1.0, 2.0, [], "t", 3.0)
    assert [x.name for x in fields(Derived)] == ["x", "y", "tags", "secret", "z"]


def test_fields_set_after_init_and_post_init():
    later = Later("abcd")
    assert later.size == 4 and repr(later) == "Later(source='abcd')"
    with pytest.raises(TypeError):
        Later("a", 1)   # type: ignore[call-arg]


def test_a_method_the_class_writes_is_kept():
    @record(frozen=True)
    class Own:
        a: int

        def __repr__(self):
            return "own"

    assert repr(Own(1)) == "own" and Own(1) == Own(1)


def test_a_field_without_a_default_after_one_with_a_default_is_refused():
    with pytest.raises(TypeError, match="follows"):
        @record
        class Wrong:
            a: int = 0
            b: int


def test_a_mutable_default_is_refused():
    with pytest.raises(ValueError, match="default_factory"):
        @record
        class Shared:
            items: list = []   # noqa: RUF012


def test_gradcalc_makes_no_dataclasses():
    """One way to declare a record in gradcalc: records (dataclasses would come back into a
    plain run's imports)."""
    from pathlib import Path

    root = Path(__file__).parents[1] / "gradcalc"
    users = [p.name for p in root.rglob("*.py") if "dataclasses" in p.read_text()
             and p.name != "records.py"]
    assert users == []
