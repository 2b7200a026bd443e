import MoltCore; print("hi")
