"""Group bots of WeCom (企业微信), DingTalk (钉钉) and Feishu (飞书): CONTRACT.md §8."""
