print("stream-bench")
