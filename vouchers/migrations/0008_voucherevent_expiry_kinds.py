# The trail also records the daily expiry (notes per run, credit per wallet).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('vouchers', '0007_drop_indexes_covered_by_composites'),
    ]

    operations = [
        migrations.AlterField(
            model_name='voucherevent',
            name='kind',
            field=models.CharField(choices=[('purchase_cancelled', '구매 취소'), ('reservation_confirmed', '온라인 구매 결제 완료'), ('reservation_failed', '온라인 구매 결제 실패'), ('reservation_released', '결제 기한 경과로 예약 해제'), ('refund_ordered', '환불 결정'), ('refund_attempted', '환불 시도'), ('refund_retried', '환불 다시 시도'), ('tranche_created', '발행 회차 생성'), ('tranche_changed', '발행 회차 정보 변경'), ('quota_raised', '발행 한도 변경'), ('tranche_closed', '발행 회차 마감'), ('plan_changed', '발행 계획 변경'), ('policy_created', '구매 한도 정책 추가'), ('policy_changed', '구매 한도 정책 변경'), ('citizen_linked', '누리집 계정 연결'), ('notes_expired', '지류 상품권 유효기간 만료'), ('credit_expired', '모바일 충전액 유효기간 만료')], max_length=32, verbose_name='종류'),
        ),
    ]
