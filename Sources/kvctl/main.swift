print("kvctl: not built yet")
