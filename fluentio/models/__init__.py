"""Every table of the product, grouped by domain: auth, billing, classroom, tutor, learning."""

from fluentio.models.auth import (
    AuthAttempt,
    EmailToken,
    LearnerLevel,
    LoginSession,
    OAuthIdentity,
    Role,
    User,
)
from fluentio.models.billing import (
    MILLICREDITS_PER_CREDIT,
    CreditBalance,
    LedgerEntry,
    LedgerReason,
    Payment,
    PaymentStatus,
    WebhookEvent,
    WebhookStatus,
)
from fluentio.models.classroom import Backchannel, ClassroomPreferences, WorkerProcess
from fluentio.models.jobs import JobError
from fluentio.models.learning import (
    DeckItem,
    DeckSource,
    LearningGoal,
    Placement,
    PlacementDecision,
    UnclearWord,
)
from fluentio.models.tutor import (
    Correction,
    CorrectionCategory,
    Feedback,
    FeedbackStatus,
    PracticeSession,
    SessionStatus,
    Speaker,
    SpeechClip,
    TranscriptItem,
)

__all__ = [
    "MILLICREDITS_PER_CREDIT",
    "AuthAttempt",
    "Backchannel",
    "ClassroomPreferences",
    "Correction",
    "CorrectionCategory",
    "CreditBalance",
    "DeckItem",
    "DeckSource",
    "EmailToken",
    "Feedback",
    "FeedbackStatus",
    "JobError",
    "LearnerLevel",
    "LearningGoal",
    "LedgerEntry",
    "LedgerReason",
    "LoginSession",
    "OAuthIdentity",
    "Payment",
    "PaymentStatus",
    "Placement",
    "PlacementDecision",
    "PracticeSession",
    "Role",
    "SessionStatus",
    "Speaker",
    "SpeechClip",
    "TranscriptItem",
    "UnclearWord",
    "User",
    "WebhookEvent",
    "WebhookStatus",
    "WorkerProcess",
]
