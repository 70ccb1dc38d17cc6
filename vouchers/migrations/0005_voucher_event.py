# VoucherEvent: the append-only trail of every state change in vouchers (issue 7).

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from jinju_portal.migration_sql import append_only, postgres_only

# The trail is append-only, like the wallet ledger (0002): no UPDATE or DELETE reaches a row.
FORWARD, BACKWARD = append_only("vouchers_voucherevent")


class Migration(migrations.Migration):

    dependencies = [
        ('portal', '0001_initial'),
        ('vouchers', '0004_payment_refund'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='VoucherEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('at', models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='일시')),
                ('kind', models.CharField(choices=[('purchase_cancelled', '구매 취소'), ('reservation_confirmed', '온라인 구매 결제 완료'), ('reservation_failed', '온라인 구매 결제 실패'), ('reservation_released', '결제 기한 경과로 예약 해제'), ('refund_ordered', '환불 결정'), ('refund_attempted', '환불 시도'), ('refund_retried', '환불 다시 시도'), ('tranche_created', '발행 회차 생성'), ('tranche_changed', '발행 회차 정보 변경'), ('quota_raised', '발행 한도 변경'), ('tranche_closed', '발행 회차 마감'), ('plan_changed', '발행 계획 변경'), ('policy_created', '구매 한도 정책 추가'), ('policy_changed', '구매 한도 정책 변경'), ('citizen_linked', '누리집 계정 연결')], max_length=32, verbose_name='종류')),
                ('actor', models.CharField(default='system', max_length=150, verbose_name='처리자')),
                ('before', models.JSONField(blank=True, default=dict, verbose_name='변경 전')),
                ('after', models.JSONField(blank=True, default=dict, verbose_name='변경 후')),
                ('note', models.TextField(blank=True, default='', verbose_name='메모')),
                ('api_client', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='portal.apiclient', verbose_name='API 클라이언트')),
                ('citizen', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='events', to='vouchers.citizen', verbose_name='구매자')),
                ('plan', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='events', to='vouchers.issuanceplan', verbose_name='발행 계획')),
                ('policy', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='events', to='vouchers.limitpolicy', verbose_name='구매 한도 정책')),
                ('purchase', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='events', to='vouchers.purchase', verbose_name='구매')),
                ('refund', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='events', to='vouchers.paymentrefund', verbose_name='결제 환불')),
                ('reservation', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='events', to='vouchers.reservation', verbose_name='온라인 구매 예약')),
                ('tranche', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='events', to='vouchers.tranche', verbose_name='발행 회차')),
                ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='담당자·계정')),
            ],
            options={
                'verbose_name': '상품권 처리 기록',
                'verbose_name_plural': '상품권 처리 기록',
                'ordering': ['-at', '-id'],
            },
        ),
        postgres_only(FORWARD, BACKWARD),
    ]
