print("actqkv: not built yet")
