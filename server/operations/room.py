"""The name of a team's room (``team:<id>``), the one thing every operations module sends to."""

from ..realtime.rooms import room_name


def team_room(team_id: object) -> str:
    return room_name("team", team_id)
