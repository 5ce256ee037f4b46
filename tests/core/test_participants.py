"""How a participant is named: pairs.yaml's name, else the directory's displayName, else the address."""

from __future__ import annotations

from pathlib import Path

from worker.core.desired import Participant
from worker.policies.load import load_programme
from worker.reconcile.desired import desired_from, display_name

DIRECTORY = {
    "lea.martin@contoso.com": ("Léa Martin", "Léa"),
    "jdubois@contoso.com": ("", ""),  # in the directory with no name set
    "r.lefevre@contoso.com": ("Robert Lefèvre", ""),
}


def test_the_directory_names_people_and_greets_them_by_their_given_name() -> None:
    lea = Participant("Lea.Martin@contoso.com", display_name("lea.martin@contoso.com"))
    assert lea.name == "Lea Martin"
    named = lea.from_directory(DIRECTORY)
    assert (named.name, named.greeting) == ("Léa Martin", "Léa")
    robert = Participant("r.lefevre@contoso.com", "R Lefevre").from_directory(DIRECTORY)
    assert (robert.name, robert.greeting) == ("Robert Lefèvre", "Robert Lefèvre")


def test_the_address_is_the_last_resort_and_pairs_yaml_wins_whole() -> None:
    nameless = Participant("jdubois@contoso.com", display_name("jdubois@contoso.com"))
    assert nameless.from_directory(DIRECTORY) == nameless and nameless.name == "Jdubois"
    chosen = Participant("lea.martin@contoso.com", "Léa M.", named=True)
    assert chosen.from_directory(DIRECTORY) == chosen and chosen.greeting == "Léa M."


def test_pairs_yaml_people_section_names_someone_in_every_pair(tmp_path: Path) -> None:
    config = Path(__file__).resolve().parents[2] / "config"
    for name in ("program.yaml", "policies.yaml", "pairs.yaml"):
        (tmp_path / name).write_text((config / name).read_text(encoding="utf-8"), encoding="utf-8")
    pairs = tmp_path / "pairs.yaml"
    extra = 'people:\n  jean.dubois@contoso.com: {name: "Jean-Hervé Dubois"}\n'
    pairs.write_text(pairs.read_text(encoding="utf-8") + extra, encoding="utf-8")
    desired = desired_from(load_programme(tmp_path))
    jeans = [p.mentee for p in desired.pairs if p.mentee.address == "jean.dubois@contoso.com"]
    assert len(jeans) == 2 and all(j.name == "Jean-Hervé Dubois" and j.named for j in jeans)
