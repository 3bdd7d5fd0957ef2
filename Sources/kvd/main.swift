import KVDaemon
print("kvd: not built yet")
