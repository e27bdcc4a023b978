enum DMFTFigures { static let all: [FigureSpec] = [] }
