print("sst-dump")
