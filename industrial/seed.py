"""`seed_demo` for the Sangpyeong centre: the briefing's project figures (shared/FACTS.md) exactly, a
milestone plan, some spending, companies, the support team, upcoming events, a club and a few books.
Idempotent: every row is found by a natural key before anything is created."""
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from industrial import selectors, services
from industrial.choices import (
    SUPPORT_LEAD_GROUP,
    SUPPORT_TEAM_GROUP,
    FundingSource,
    ProgrammeKind,
    ProjectStatus,
    Sector,
    SupportCategory,
)
from industrial.models import (
    Book,
    Club,
    ClubMember,
    Company,
    Expenditure,
    Funding,
    Loan,
    Milestone,
    Programme,
    Project,
    SupportCategorySLA,
    SupportRequest,
)
from jinju_portal import bizno

PROJECT_NAME = "상평산단 혁신지원센터·복합문화센터 건립"
BRIEFING_DAY = date(2021, 2, 18)
# FACTS.md, briefing: 13,600,000,000 = national 6,600,000,000 + city 7,000,000,000.
FUNDING = {FundingSource.NATIONAL: 6_600_000_000, FundingSource.CITY: 7_000_000_000}
BUDGET_TOTAL = 13_600_000_000
SITE_AREA_M2 = Decimal("3674")
GROSS_FLOOR_AREA_M2 = Decimal("5986")
FLOORS_BELOW, FLOORS_ABOVE = 1, 4
PLANNED_COMPLETION = date(2022, 12, 31)

# (order, name, planned date, weight, percent done)
MILESTONES = [
    (1, "설계", date(2020, 9, 30), 10, 100),
    (2, "인허가", date(2020, 12, 31), 5, 100),
    (3, "착공", date(2021, 4, 30), 10, 100),
    (4, "골조 완료(상량)", date(2022, 3, 31), 35, 60),
    (5, "준공", date(2022, 12, 31), 30, 0),
    (6, "개관", date(2023, 3, 31), 10, 0),
]
MILESTONE_ACTUAL = {"설계": date(2020, 10, 15), "인허가": date(2021, 1, 20), "착공": date(2021, 5, 10)}

# (source, document reference = natural key, date, amount, payee, description)
EXPENDITURES = [
    (FundingSource.CITY, "상평-2020-설계-001", date(2020, 10, 20), 480_000_000, "㈜진주종합건축사사무소",
     "기본 및 실시설계 용역비"),
    (FundingSource.CITY, "상평-2021-인허가-001", date(2021, 1, 25), 35_000_000, "진주시 건축과", "건축허가 관련 부담금"),
    (FundingSource.NATIONAL, "상평-2021-공사-001", date(2021, 6, 30), 1_320_000_000, "㈜상평건설",
     "건축공사 1차 기성금"),
    (FundingSource.NATIONAL, "상평-2021-공사-002", date(2021, 11, 30), 1_150_000_000, "㈜상평건설",
     "건축공사 2차 기성금"),
    (FundingSource.CITY, "상평-2021-감리-001", date(2021, 12, 15), 160_000_000, "㈜경남건축감리",
     "공사감리 용역비 (1차)"),
]

# (name, 9 leading digits of a fictional business number, sector, resident, cluster member)
COMPANIES = [
    ("㈜상평에어로텍", "613811204", Sector.AEROSPACE, True, True),
    ("진주세라믹소재㈜", "613861377", Sector.CERAMICS, True, False),
    ("서부경남정밀기계㈜", "613815520", Sector.MACHINERY, False, True),
    ("상평금속가공", "613019288", Sector.OTHER, False, False),
]

TEAM = [  # username, full name, lead?
    ("support1", "박지원", False),
    ("supportlead", "정팀장", True),
]

PROGRAMMES = [
    ("상평 정기공연", ProgrammeKind.PERFORMANCE, "매월 마지막 주 목요일 점심·퇴근 시간, 문화센터 공연장에서 열리는 작은 음악회."),
    ("작은도서관 프로그램", ProgrammeKind.LIBRARY, "작은도서관의 독서 모임과 저자 초청 강연."),
    ("근로자 동호회", ProgrammeKind.CLUB, "산단 근로자 동호회의 모임과 체험 행사."),
]
# (programme, title, days from today, hour, venue, seats)
EVENTS = [
    ("상평 정기공연", "점심 음악회: 현악 4중주", 7, 12, "문화센터 2층 공연장", 120),
    ("상평 정기공연", "퇴근길 재즈 콘서트", 21, 19, "문화센터 2층 공연장", 150),
    ("작은도서관 프로그램", "저자와의 만남: 진주의 산업 이야기", 14, 18, "문화센터 1층 작은도서관", 30),
    ("근로자 동호회", "산악회 신입 회원 오리엔테이션", 10, 19, "문화센터 3층 세미나실", 20),
]
BOOKS = [
    ("진주 상평공단 50년", "진주문화연구소", "9791100000011", 2),
    ("세라믹 신소재 입문", "김소재", "9791100000028", 1),
    ("항공우주 부품 산업의 이해", "이항공", "9791100000035", 1),
    ("중소기업 노무 관리 실무", "박노무", "9791100000042", 3),
]


def _business_number(first_nine):
    return f"{first_nine}{bizno.check_digit(first_nine)}"


def run(out):
    project = _project(out)
    _fundings(out, project)
    _milestones(out, project)
    _expenditures(out, project)
    _sla(out)
    _team(out)
    _companies(out)
    _support_requests(out)
    _culture(out)
    figures = selectors.project_figures(selectors.projects_with_figures().get(pk=project.pk))
    out.step(f"상평산단 사업비 {figures.budget_total:,}원 (집행률 {figures.execution_rate}, 공정률 {figures.progress})")


def _project(out):
    project, created = Project.objects.get_or_create(name=PROJECT_NAME, defaults=dict(
        kind="혁신지원센터 및 복합문화센터 건립",
        programme="산업통상자원부 노후산업단지 구조고도화",
        address="경상남도 진주시 상평동 상평일반산업단지",
        site_area_m2=SITE_AREA_M2, gross_floor_area_m2=GROSS_FLOOR_AREA_M2,
        floors_below=FLOORS_BELOW, floors_above=FLOORS_ABOVE,
        planned_completion=PLANNED_COMPLETION, status=ProjectStatus.CONSTRUCTION,
        updated_at=timezone.make_aware(datetime.combine(BRIEFING_DAY, time(9)))))
    if created:
        out.created(f"사업 {PROJECT_NAME}")
    return project


def _fundings(out, project):
    for source, amount in FUNDING.items():
        if not Funding.objects.filter(project=project, source=source).exists():
            services.create_funding(project=project, source=source, amount=amount, effective_on=BRIEFING_DAY,
                                    reason="2021 경제통상국 업무보고 기준 사업비",
                                    now=timezone.make_aware(datetime.combine(BRIEFING_DAY, time(9))))
            out.created(f"재원 {FundingSource(source).label} {amount:,}원")


def _milestones(out, project):
    for order, name, planned, weight, percent in MILESTONES:
        _m, created = Milestone.objects.get_or_create(project=project, name=name, defaults=dict(
            order=order, planned_date=planned, weight=weight, percent_done=percent,
            actual_date=MILESTONE_ACTUAL.get(name)))
        if created:
            out.created(f"추진 단계 {name}")


def _expenditures(out, project):
    for source, ref, spent_on, amount, payee, description in EXPENDITURES:
        funding = Funding.objects.get(project=project, source=source)
        if Expenditure.objects.filter(funding=funding, document_ref=ref).exists():
            continue
        services.record_expenditure(funding=funding, amount=amount, spent_on=spent_on, payee=payee,
                                    description=description, document_ref=ref,
                                    now=timezone.make_aware(datetime.combine(spent_on, time(10))))
        out.created(f"집행 {ref} {amount:,}원")


def _sla(out):
    for category in SupportCategory.values:
        _row, created = SupportCategorySLA.objects.get_or_create(category=category, defaults={"days": 7})
        if created:
            out.created(f"처리 기한 {SupportCategory(category).label} 7일")


def _team(out):
    from jinju_portal.seed import DEMO_PASSWORD, STAFF_GROUP

    User = get_user_model()
    team, created = Group.objects.get_or_create(name=SUPPORT_TEAM_GROUP)
    if created:
        out.created(f"그룹 {SUPPORT_TEAM_GROUP}")
    lead_group, created = Group.objects.get_or_create(name=SUPPORT_LEAD_GROUP)
    if created:
        out.created(f"그룹 {SUPPORT_LEAD_GROUP}")
    wanted = set(Permission.objects.filter(content_type__app_label="industrial").values_list("pk", flat=True))
    if set(team.permissions.values_list("pk", flat=True)) != wanted:
        team.permissions.set(wanted)
    for username, full_name, is_lead in TEAM:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, first_name=full_name[1:], last_name=full_name[:1], is_staff=True,
                        email=f"{username}@example.jinju.kr")
            user.set_password(DEMO_PASSWORD)
            user.save()
            out.created(f"계정 {username} ({SUPPORT_LEAD_GROUP if is_lead else SUPPORT_TEAM_GROUP})")
        for group in [team, lead_group] if is_lead else [team]:
            if not user.groups.filter(pk=group.pk).exists():
                user.groups.add(group)
        staff = Group.objects.filter(name=STAFF_GROUP).first()
        if staff and not user.groups.filter(pk=staff.pk).exists():
            user.groups.add(staff)


def _companies(out):
    for name, nine, sector, resident, member in COMPANIES:
        _c, created = Company.objects.get_or_create(business_number=_business_number(nine), defaults=dict(
            name=name, sector=sector, is_resident=resident, is_cluster_member=member,
            address="경상남도 진주시 상평동"))
        if created:
            out.created(f"기업 {name}")


def _support_requests(out):
    demo = [
        (COMPANIES[0], SupportCategory.TECHNOLOGY, "항공 부품 시험성적서 발급 기관 문의",
         "항공우주 부품 납품에 필요한 시험성적서를 받을 수 있는 가까운 시험기관과 지원 사업을 알고 싶습니다."),
        (COMPANIES[1], SupportCategory.SALES_CHANNELS, "세라믹 소재 전시회 참가 지원",
         "해외 전시회 참가비 지원 제도가 있는지, 신청 시기와 서류를 안내해 주세요."),
    ]
    for (name, nine, *_rest), category, title, description in demo:
        number = _business_number(nine)
        if SupportRequest.objects.filter(business_number=number, title=title).exists():
            continue
        services.submit_support_request(company_name=name, business_number=number, category=category, title=title,
                                        description=description, contact_email="contact@example.com",
                                        contact_name="담당자")
        out.created(f"기업 애로 신청 {title}")


def _culture(out):
    programmes = {}
    for name, kind, description in PROGRAMMES:
        programmes[name], created = Programme.objects.get_or_create(
            name=name, defaults={"kind": kind, "description": description})
        if created:
            out.created(f"프로그램 {name}")
    today = timezone.localdate()
    for programme, title, days, hour, venue, seats in EVENTS:
        # Events are relative to today so the demo always has upcoming ones; an upcoming one with the
        # same title already there means this run has nothing to add.
        if selectors.upcoming_events().filter(programme=programmes[programme], title=title).exists():
            continue
        starts_at = timezone.make_aware(datetime.combine(today + timedelta(days=days), time(hour)))
        programmes[programme].events.create(title=title, starts_at=starts_at, venue=venue, seats=seats)
        out.created(f"행사 {title}")
    club, created = Club.objects.get_or_create(name="상평 산악회", defaults=dict(
        description="주말마다 진주 근교 산을 오르는 산단 근로자 모임", meets="격주 토요일 오전 8시, 문화센터 앞",
        leader_name="최산행"))
    if created:
        out.created("동호회 상평 산악회")
    for name, company, email in [("최산행", "㈜상평에어로텍", "climber1@example.com"),
                                 ("한등산", "진주세라믹소재㈜", "climber2@example.com"),
                                 ("오정상", "서부경남정밀기계㈜", "climber3@example.com")]:
        _m, created = ClubMember.objects.get_or_create(club=club, email=email, defaults=dict(
            name=name, company=company, joined_on=BRIEFING_DAY))
        if created:
            out.created(f"동호회원 {name}")
    for title, author, isbn, copies in BOOKS:
        _b, created = Book.objects.get_or_create(isbn=isbn, defaults=dict(title=title, author=author, copies=copies))
        if created:
            out.created(f"도서 {title}")
    book = Book.objects.get(isbn=BOOKS[0][2])
    if not Loan.objects.filter(book=book, borrower_email="reader@example.com").exists():
        Loan.objects.create(book=book, borrower_name="김독서", borrower_company="㈜상평에어로텍",
                            borrower_email="reader@example.com", loaned_on=today - timedelta(days=20),
                            due_on=today - timedelta(days=6))
        out.created("대출 (연체 예시)")
