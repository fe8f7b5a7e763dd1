"""What a lesson can be about: the catalogue of topics and role-plays (levels: fluentio/levels.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    """One topic or role-play the learner can pick before a call."""

    id: str
    title: str
    description: str  # one line for the picker
    setup: str  # what the tutor plays and where the scene takes place
    opening: str  # an idea for the tutor's first line
    # A shorter cap than FLUENTIO_MAX_SESSION_MINUTES for this kind of call (the meter hangs up).
    max_minutes: int | None = None


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        id="small_talk",
        title="Small talk",
        description="A relaxed chat about your day, hobbies and plans.",
        setup=(
            "You are a friendly neighbour chatting with the learner. Talk about everyday "
            "things: the weekend, hobbies, weather, food, plans."
        ),
        opening="Greet the learner warmly and ask how their day is going.",
    ),
    Scenario(
        id="job_interview",
        title="Job interview",
        description="Practise answering an interviewer's questions about your experience.",
        setup=(
            "You are a polite but thorough hiring manager interviewing the learner for a "
            "job in their field. Ask about experience, strengths, a challenge they solved, "
            "and why they want the job."
        ),
        opening="Welcome the candidate and ask them to introduce themselves briefly.",
    ),
    Scenario(
        id="ordering_food",
        title="Ordering food",
        description="Order a meal at a restaurant, ask about dishes and pay the bill.",
        setup=(
            "You are a waiter at a busy, friendly restaurant. Take the learner's order, "
            "answer questions about the menu, suggest a dessert, and bring the bill."
        ),
        opening="Welcome the guest, offer a table and ask what they would like to drink.",
    ),
    Scenario(
        id="travel",
        title="Travel and directions",
        description="Check in at a hotel, ask for directions and sort out travel problems.",
        setup=(
            "You are a hotel receptionist in a city the learner is visiting. Help with "
            "check-in, directions, sightseeing tips and a small problem with the room."
        ),
        opening="Greet the guest at the front desk and ask for the name of the booking.",
    ),
    Scenario(
        id="doctor_visit",
        title="Doctor's visit",
        description="Describe symptoms to a doctor and understand the advice.",
        setup=(
            "You are a calm family doctor. Ask the learner what is wrong, how long it has "
            "lasted and how it feels, then give simple advice. Keep it light: no real "
            "diagnosis, and nothing frightening."
        ),
        opening="Invite the patient to sit down and ask what brings them in today.",
    ),
    Scenario(
        id="tech_standup",
        title="Tech stand-up",
        description="Give your update in a daily team stand-up: done, next, blockers.",
        setup=(
            "You are the learner's team lead running a short daily stand-up for a software "
            "team. Ask what they did yesterday, what they will do today and whether "
            "anything blocks them; ask a follow-up question about one detail."
        ),
        opening="Open the stand-up and ask the learner for their update.",
    ),
    Scenario(
        id="shopping",
        title="Shopping",
        description="Buy clothes, ask for another size and return something.",
        setup=(
            "You are a shop assistant in a clothing store. Help the learner find something, "
            "talk about sizes, colours and prices, and handle a return."
        ),
        opening="Greet the customer and ask if they are looking for anything in particular.",
    ),
    Scenario(
        id="phone_call",
        title="Making an appointment",
        description="Phone a hairdresser to book, move or cancel an appointment.",
        setup=(
            "You are a receptionist at a hair salon answering the phone. Help the learner "
            "book an appointment, check the time and date, and take their name and number."
        ),
        opening="Answer the phone with the salon's name and ask how you can help.",
    ),
    Scenario(
        id="meeting_people",
        title="Meeting new people",
        description="Introduce yourself at a party and keep the conversation going.",
        setup=(
            "You are a guest at a friend's party meeting the learner for the first time. "
            "Exchange names, find out where they are from and what they do, and find "
            "something you have in common."
        ),
        opening="Introduce yourself and ask how the learner knows the host.",
    ),
    Scenario(
        id="opinions",
        title="Sharing opinions",
        description="Discuss a light everyday topic and give reasons for your views.",
        setup=(
            "You are a curious friend discussing everyday topics such as city or country "
            "life, working from home or social media. Ask for the learner's opinion and "
            "reasons, and politely offer another point of view."
        ),
        opening="Suggest a topic and ask the learner what they think about it.",
    ),
)

DEFAULT_SCENARIO_ID = "small_talk"

# The placement call: offered before the first lesson, not in the topic picker. Its tutor
# instructions climb from A1 to C1 (classroom/instructions.py: build_placement_instructions),
# and its analysis returns a level with evidence (fluentio/placement/).
PLACEMENT_SCENARIO_ID = "placement"
PLACEMENT_SCENARIO = Scenario(
    id=PLACEMENT_SCENARIO_ID,
    title="Placement call",
    description="Five minutes of questions that get harder, to find your level.",
    setup=(
        "You are a friendly examiner holding a short, relaxed placement conversation. The "
        "questions start very easy and climb in difficulty, so the learner's level shows."
    ),
    opening="Greet the learner, say this takes about five minutes, and ask their name.",
    max_minutes=5,
)

_BY_ID = {scenario.id: scenario for scenario in (*SCENARIOS, PLACEMENT_SCENARIO)}


def get_scenario(scenario_id: str) -> Scenario | None:
    return _BY_ID.get(scenario_id)
