"""Every model, imported in one place so Alembic and `db.create_all()` see the whole schema."""
from .audit.models import AuditEvent  # noqa: F401
from .auth.models import ApiToken, LoginFailure, User  # noqa: F401
from .channels.models import Channel, ChannelAttempt, ChannelMessage  # noqa: F401
from .competitions.models import Competition, Criterion, Item, Section, Team  # noqa: F401
from .entries.models import Entry, EntryPhoto, EntryVoid  # noqa: F401
from .notices.models import Notice, NoticeCounter, NoticeStep, NoticeStepPhoto  # noqa: F401
from .periods.models import Period, PeriodEvent, Snapshot  # noqa: F401
from .photos.models import Photo, PhotoFile  # noqa: F401
from .reports.models import Delivery, QuarterEdition, Recipient  # noqa: F401
from .scheduler.models import Heartbeat, JobClaim  # noqa: F401
from .standings.models import DailyStanding, SubjectTally  # noqa: F401
from .vetoes.models import Veto, VetoRevocation  # noqa: F401
