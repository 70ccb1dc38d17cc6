"""Demo accounts for `seed_demo`: staff in the admin, a citizen on the web pages (the demo shop's
owner and cashier are created by vouchers/seed.py, once the shop exists)."""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

DEMO_PASSWORD = "jinju-demo-2021"
DEMO_ACCOUNTS = [
    # username, full name, is_staff, is_superuser
    ("admin", "관리자", True, True),
    ("clerk", "김주무관", True, False),
    ("citizen", "이진주", False, False),
]
# username, role: sign-ins of one demo merchant's own pages (/merchant/), same password
DEMO_MERCHANT_ACCOUNTS = [
    ("shop-owner", "owner"),
    ("shop-cashier", "cashier"),
]
STAFF_GROUP = "시청 담당자"


def run(out):
    User = get_user_model()
    group, created = Group.objects.get_or_create(name=STAFF_GROUP)
    wanted = Permission.objects.filter(content_type__app_label__in=["vouchers", "delivery", "industrial"])
    if set(group.permissions.values_list("pk", flat=True)) != set(wanted.values_list("pk", flat=True)):
        group.permissions.set(wanted)
    for username, full_name, is_staff, is_superuser in DEMO_ACCOUNTS:
        first, last = full_name[1:], full_name[:1]
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, first_name=first, last_name=last, is_staff=is_staff,
                        is_superuser=is_superuser, email=f"{username}@example.jinju.kr")
            user.set_password(DEMO_PASSWORD)
            user.save()
            out.created(f"계정 {username}")
        if is_staff and not is_superuser and not user.groups.filter(pk=group.pk).exists():
            user.groups.add(group)
    out.step(f"데모 계정 {len(DEMO_ACCOUNTS)}개 (비밀번호 {DEMO_PASSWORD})")
