/* test_loss_scale: the dynamic loss scaler: growth after N finite steps, backoff and a
 * skipped step on an overflow, the count of skipped steps, and the config keys. */
#include "test.h"
#include "trainer/config.h"
#include "trainer/loss_scale.h"

int main(void) {
    vs_config c;
    vs_config_default(&c);
    CHECK(c.loss_scale == 65536.0 && c.loss_scale_growth_interval == 2000 && c.loss_scale_backoff == 0.5 &&
          c.loss_scale_growth == 2.0 && c.precision == VS_FP32);
    c.loss_scale_growth_interval = 3;
    vs_loss_scaler s;
    vs_loss_scaler_init(&s, &c);
    CHECK(vs_loss_scaler_update(&s, 0) == 1 && s.scale == 65536.0);
    CHECK(vs_loss_scaler_update(&s, 0) == 1 && s.scale == 65536.0);
    CHECK(vs_loss_scaler_update(&s, 0) == 1 && s.scale == 131072.0);   /* third finite step in a row: doubled */
    CHECK(vs_loss_scaler_update(&s, 0) == 1);
    CHECK(vs_loss_scaler_update(&s, 1) == 0 && s.scale == 65536.0 && s.skipped_steps == 1);   /* skipped, halved */
    CHECK(vs_loss_scaler_update(&s, 0) == 1 && vs_loss_scaler_update(&s, 0) == 1 && s.scale == 65536.0);
    CHECK(vs_loss_scaler_update(&s, 0) == 1 && s.scale == 131072.0);   /* the count restarted after the overflow */
    /* a run of overflows keeps halving, never below the smallest normal float */
    for (int i = 0; i < 300; i++) CHECK(vs_loss_scaler_update(&s, 1) == 0);
    CHECK(s.scale > 0 && s.scale < 1e-37 && s.skipped_steps == 301);
    /* growth never leaves float's range */
    c.loss_scale = 3e38;
    c.loss_scale_growth_interval = 1;
    vs_loss_scaler_init(&s, &c);
    vs_loss_scaler_update(&s, 0);
    CHECK(s.scale == 3e38);

    /* the keys */
    vs_error err = {{0}};
    CHECK_OK(vs_config_set(&c, "precision=bf16", &err), &err);
    CHECK(c.precision == VS_BF16);
    CHECK_OK(vs_config_set(&c, "precision=\"fp16\"", &err), &err);
    CHECK(c.precision == VS_FP16 && !strcmp(vs_precision_name(c.precision), "fp16"));
    CHECK(vs_config_set(&c, "precision=fp8", &err) == -1 && strstr(err.msg, "'precision'"));
    CHECK(vs_config_set(&c, "loss_scale_backoff=1", &err) == -1 && strstr(err.msg, "'loss_scale_backoff'"));
    CHECK(vs_config_set(&c, "loss_scale=0", &err) == -1 && strstr(err.msg, "'loss_scale'"));
    CHECK_OK(vs_config_set(&c, "loss_scale_growth_interval=100", &err), &err);
    cJSON *j = vs_config_to_json(&c);
    CHECK(!strcmp(cJSON_GetObjectItem(j, "precision")->valuestring, "fp16"));
    cJSON_Delete(j);
    return test_finish();
}
